-- payments: the cash unapplied on the run date as_of (a bound parameter), point in time.
--
-- A receipt counts when its value date is on or before as_of, with what was still unapplied
-- on that date: its amount less the clearing lines dated on or before as_of that name it
-- (erp_ar_clearings.payment_id). A receipt applied in part shows with the part left; one
-- applied in full by as_of is not listed; an application dated after as_of does not count.
-- Tables and column types: see open_items.sql and docs/operations.md "SQL sources".
WITH applied AS (
    SELECT company_code, payment_id, SUM(cleared_amount) AS applied_amount
    FROM erp_ar_clearings
    WHERE payment_id IS NOT NULL AND clearing_date <= :as_of
    GROUP BY company_code, payment_id
)
SELECT p.payment_id, p.company_code, p.value_date,
       ROUND(p.amount - COALESCE(a.applied_amount, 0), 2) AS amount,
       p.currency, p.customer_id, p.payer_name, p.payer_iban, p.remittance_info, p.bank_reference
FROM erp_incoming_payments p
LEFT JOIN applied a ON a.company_code = p.company_code AND a.payment_id = p.payment_id
WHERE p.value_date <= :as_of
  AND ROUND(p.amount - COALESCE(a.applied_amount, 0), 2) > 0
ORDER BY p.company_code, p.payment_id
