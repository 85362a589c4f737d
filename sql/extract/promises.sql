-- promises: the promises to pay made on or before the run date as_of (a bound parameter);
-- whether one was kept is worked out by the run from the payments and clearings of that date.
-- Tables and column types: see open_items.sql and docs/operations.md "SQL sources".
SELECT promise_id, company_code, customer_id, document_no, promised_amount, promised_date, created_on
FROM erp_promises
WHERE created_on <= :as_of
ORDER BY company_code, promise_id
