-- disputes: as they stood on the run date as_of (a bound parameter), point in time. A dispute
-- opened on or before as_of is listed; it is RESOLVED only if it was resolved on or before
-- as_of, else OPEN with resolved_on left blank, whatever happened to it since.
-- Tables and column types: see open_items.sql and docs/operations.md "SQL sources".
SELECT dispute_id, company_code, document_no, customer_id, reason_code, amount,
       CASE WHEN resolved_on <= :as_of THEN 'RESOLVED' ELSE 'OPEN' END AS status,
       opened_on,
       CASE WHEN resolved_on <= :as_of THEN resolved_on END AS resolved_on,
       owner
FROM erp_disputes
WHERE opened_on <= :as_of
ORDER BY company_code, dispute_id
