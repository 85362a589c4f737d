-- agency_returns: the items a collection agency returned as uncollectible on or before the
-- run date as_of (a bound parameter). Optional: without an erp_agency_returns table no item
-- is proposed for write-off as AGENCY_RETURNED. See docs/close.md.
SELECT company_code, customer_id, document_no, returned_on, reason
FROM erp_agency_returns
WHERE returned_on <= :as_of
ORDER BY company_code, document_no
