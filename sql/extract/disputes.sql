SELECT dispute_id, company_code, document_no, customer_id, reason_code, amount, status,
       opened_on, resolved_on, owner
FROM erp_disputes
WHERE opened_on <= :as_of
