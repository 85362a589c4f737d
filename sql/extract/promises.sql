SELECT promise_id, company_code, customer_id, document_no, promised_amount, promised_date, created_on
FROM erp_promises
WHERE created_on <= :as_of
