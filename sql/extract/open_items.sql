-- open_items: the receivable documents open on the run date as_of, with their open amount on
-- that date. as_of is a bound parameter, never pasted into the text.
--
-- Point in time, so that a rerun for an earlier date (a month-end close) gives that date's
-- numbers whatever was posted or cleared since: a document is open on as_of when it was
-- posted on or before as_of and not fully cleared by then; its open_amount is its amount
-- less the clearing lines dated on or before as_of. A clearing dated after as_of does not
-- count, so a document paid the day after the close still shows open for the close.
--
-- The ERP schema these queries read (adapt the FROM clauses to your ERP's tables or reporting
-- views and keep the column aliases; docs/operations.md "SQL sources" has it in full):
--   erp_customers          the customer master, in the canonical customers columns
--   erp_ar_documents       one row per receivable document, kept after it is cleared:
--                          company_code, document_no, document_type (INV/CRN/PMT/ADJ),
--                          customer_id, document_date, posting_date, due_date, currency,
--                          amount (signed: credit notes and payments on account negative),
--                          reference, dunning_block, discount_pct, discount_days
--   erp_ar_clearings       one row per clearing line, what took how much off a document:
--                          company_code, document_no, clearing_date, cleared_amount (signed
--                          like the document), payment_id (the incoming payment that paid it;
--                          null for a credit-note offset or a write-off), clearing_doc
--   erp_incoming_payments  one row per cash receipt, kept after it is applied: payment_id,
--                          company_code, value_date, amount (> 0), currency, customer_id,
--                          payer_name, payer_iban, remittance_info, bank_reference
--   erp_disputes           dispute_id, company_code, document_no, customer_id, reason_code,
--                          amount, opened_on, resolved_on (null while open), owner
--   erp_promises           the canonical promises columns (created_on dates the promise)
--   erp_fx_rates           currency, rate_to_base, rate_date
-- Amounts are exact decimals (NUMERIC / DECIMAL: ROUND(numeric, 2) must exist), dates are
-- DATE (ISO text on SQLite), blanks are NULL. Reference, due date, dunning block and cash
-- discount terms are read as they are now: an ERP keeps no history of them.
--
-- The rows are ordered by key, so the same data gives the same bytes (and sha256) every time.
-- In these comments the parameter is written without its colon: a colon before a name is read
-- as a parameter even inside a comment, and SQLite then counts one parameter too many.
WITH cleared AS (
    SELECT company_code, document_no, SUM(cleared_amount) AS cleared_amount
    FROM erp_ar_clearings
    WHERE clearing_date <= :as_of
    GROUP BY company_code, document_no
)
SELECT d.company_code, d.document_no, d.document_type, d.customer_id, d.document_date, d.due_date,
       d.currency, d.amount, ROUND(d.amount - COALESCE(c.cleared_amount, 0), 2) AS open_amount,
       d.reference, d.dunning_block, d.discount_pct, d.discount_days
FROM erp_ar_documents d
LEFT JOIN cleared c ON c.company_code = d.company_code AND c.document_no = d.document_no
WHERE d.posting_date <= :as_of
  AND ROUND(d.amount - COALESCE(c.cleared_amount, 0), 2) <> 0
ORDER BY d.company_code, d.document_no
