-- cleared_items: the documents fully cleared on or before the run date as_of (a bound
-- parameter), for payment behaviour and KPIs; clearing_date is the date of the line that
-- cleared the rest. Point in time: a clearing dated after as_of does not count.
-- Tables and column types: see open_items.sql and docs/operations.md "SQL sources". On a
-- large ledger add a lower bound (e.g. 13 months before as_of) in your database's date
-- arithmetic.
WITH cleared AS (
    SELECT company_code, document_no, SUM(cleared_amount) AS cleared_amount, MAX(clearing_date) AS clearing_date
    FROM erp_ar_clearings
    WHERE clearing_date <= :as_of
    GROUP BY company_code, document_no
)
SELECT d.company_code, d.document_no, d.customer_id, d.document_date, d.due_date, d.currency, d.amount,
       c.clearing_date
FROM erp_ar_documents d
JOIN cleared c ON c.company_code = d.company_code AND c.document_no = d.document_no
WHERE d.posting_date <= :as_of
  AND ROUND(d.amount - c.cleared_amount, 2) = 0
ORDER BY d.company_code, d.document_no
