-- Customer master in the canonical columns. Adapt the FROM clause to your ERP's tables or a
-- reporting view; keep the column aliases. The run date is available as the bound parameter as_of.
SELECT customer_id, name, email, language, country, currency, payment_terms_days,
       credit_limit, segment, dunning_policy, dunning_block, collector, iban, company_code
FROM erp_customers
