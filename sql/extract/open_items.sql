-- Receivable documents not yet cleared on the run date (bound parameter as_of, never pasted in).
SELECT company_code, document_no, document_type, customer_id, document_date, due_date,
       currency, amount, open_amount, reference, dunning_block, discount_pct, discount_days
FROM erp_open_items
WHERE open_amount <> 0 AND document_date <= :as_of
