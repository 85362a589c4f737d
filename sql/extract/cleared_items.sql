SELECT company_code, document_no, customer_id, document_date, due_date, currency, amount, clearing_date
FROM erp_cleared_items
WHERE clearing_date <= :as_of
