-- activities: the collectors' contact log as it stood on the run date as_of (a bound
-- parameter): every call, email, letter, meeting or portal message that happened on or before
-- as_of. A PROMISE row carries promised_amount and promised_date and is a promise to pay.
-- Optional: without an erp_activities table the run goes on without a contact log.
-- Tables and column types: see open_items.sql and docs/casework.md.
SELECT activity_id, company_code, customer_id, collector, occurred_on, channel, outcome,
       promised_amount, promised_date, note, next_contact_on
FROM erp_activities
WHERE occurred_on <= :as_of
ORDER BY company_code, occurred_on, activity_id
