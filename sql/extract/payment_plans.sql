-- payment_plans: the payment plans agreed with customers on or before the run date as_of (a
-- bound parameter). A plan covers the documents in document_nos (';'-separated, of its company
-- code); whether it is current, completed or broken is worked out by the run from the
-- instalments and the payments and clearings of that date.
-- Optional: without an erp_payment_plans table the run goes on without payment plans.
-- Tables and column types: see open_items.sql and docs/casework.md.
SELECT plan_id, company_code, customer_id, document_nos, agreed_on, approved_by
FROM erp_payment_plans
WHERE agreed_on <= :as_of
ORDER BY company_code, plan_id
