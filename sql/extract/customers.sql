-- customers: the customer master in the canonical columns, as it is now (master data keeps no
-- history). Adapt the FROM clause to your ERP's tables or a reporting view; keep the column
-- aliases. The run date is available as the bound parameter as_of. The whole schema the
-- shipped queries read: open_items.sql and docs/operations.md "SQL sources".
SELECT customer_id, name, email, language, country, currency, payment_terms_days,
       credit_limit, segment, dunning_policy, dunning_block, collector, iban, company_code
FROM erp_customers
ORDER BY customer_id
