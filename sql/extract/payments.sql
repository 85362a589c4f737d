-- Unapplied cash received up to the run date.
SELECT payment_id, company_code, value_date, amount, currency, customer_id, payer_name,
       payer_iban, remittance_info, bank_reference
FROM erp_unapplied_payments
WHERE value_date <= :as_of
