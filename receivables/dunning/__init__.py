"""Stage 4, dunning: who gets which reminder today, with fees and interest to the cent.

``propose_dunning`` takes the open items *after cash application*, the customer master,
disputes, promises to pay, the dunning state before ``as_of`` (``history``) and the policies
from ``configs/dunning.yaml``, and returns a ``DunningProposal``: the notices, the items on
them, the overdue items that did not advance and why, and the promises found broken.  It is
pure: the same inputs give the same proposal, so a rerun for the same as_of, which reads the
same history (the state *before* that as_of), reproduces the same notices instead of
advancing again.  Reading and writing that state is ``receivables.warehouse.dunning_history``.

Decisions where the issue is silent, in the order an item meets them:

* Only items with a positive open amount can be dunned, and only once past their due date
  (``days_past_due = as_of - due_date >= 1``), except for a policy's courtesy level (below).
  Items with open_amount 0 are ignored.
* **Credits net.**  Credit notes, payments on account and other negative open items (due or
  not) are subtracted from the customer's overdue total in that company code and currency
  before the level minimum is checked, and shown on the notice as ``credit_amount``.  Chasing
  a customer for money we already owe back to them annoys good customers and is exactly what
  a collector would not do; when credits cover the whole overdue amount the items are
  skipped as ``CREDIT_BALANCE``, for a person to settle the account.
* An overdue item is **excluded** (on no notice) while, first reason wins: its customer is
  not in the master (``UNKNOWN_CUSTOMER``) or names a policy that does not exist
  (``UNKNOWN_POLICY``); it, or the customer's account in that company code (a dispute
  without document_no), has an open dispute (``DISPUTE``); it is blocked (``ITEM_BLOCK``); the
  customer is blocked (``CUSTOMER_BLOCK``); a promise covering it is active (``PROMISE``);
  a current payment plan covers it (``PLAN``); the customer's net overdue amount is not
  positive (``CREDIT_BALANCE``).  A dispute is open on as_of when its status is OPEN and it
  was opened by then, or when it was resolved only after as_of (a rerun for an earlier date
  sees it as it was).  When the pause ends the item resumes from its level; the wait for the
  next level counts from the day it reached its level, so it may advance on the first night
  after the pause.
* Every other overdue item is **dunnable**.  It advances from level N to N+1, at most one
  level per run, when it is ``days_past_due`` of level N+1 overdue, at least
  ``min_days_since_previous`` days have passed since it *reached* level N (the history's
  as_of), and the net overdue amount is at least level N+1's minimum.  Otherwise it keeps
  its level: ``MAX_LEVEL``, ``TOO_SOON`` and ``BELOW_MINIMUM`` are recorded in ``skipped``,
  not yet being overdue enough for the next level is the normal wait and is not recorded.
  A level never goes down, and only changes when the item advances.
* **One notice per (company_code, customer_id, currency), only on a run where at least one
  of its items advances**, so nobody gets a duplicate reminder on a day nothing changed.
  The notice lists every dunnable overdue item of the group with its current level (level 0
  for an item overdue but not yet at level 1) and its level is the highest item level.  The
  action and template are that level's; an item carried over from a policy with more levels
  uses the last level of the current policy.
* **Fees**: the level's fee is charged on the notice that first takes the account to that
  level (notice level above every listed item's previous level), not again when a later
  notice repeats the level because another item advanced.  The EU flat compensation is an
  item fee: once per invoice (document_type INV), on the run the invoice reaches the level
  marked ``compensation``.  ``notices.fees`` = level fee + the items' fees.
* **Interest**: accrued statutory (or fixed) interest to as_of on each listed item whose
  *own* level claims it (the policy's ``interest`` on that level): open amount x rate x days
  overdue / 365, summed per day over the base rates in force, rounded half-up to the cent
  once per item.  Partial payments are not time-weighted: the open amount today is used.
  The statutory rate is that of the company code's country (``company_countries``: the
  seller's law usually governs the contract), else of the customer's country.
* **Promises**: a promise covers its document, or with a blank document_no every item of
  the customer's account in that company code due on or before the promised date.  It is
  active from created_on until promised_date + the policy's grace days; then dunning
  resumes, and it is *broken* when the covered items still open carry more than their
  original amount less the promised amount (less than promised has been paid on them).
  A document promise is judged exactly; for a whole-account promise (an amount in the
  customer's master currency) items paid in full have left the extract, so only what is
  still open counts (an account whose covered items are all gone kept its promise).  A
  broken promise is listed on every run while it stays broken, which is what the promise
  KPI counts for that as_of.
* **Payment plans**: a document covered by a *current* payment plan is skipped as ``PLAN``
  (after ``PROMISE``, before the credit checks); a broken or completed plan pauses nothing.
  A skipped item keeps its stored level, so when a plan breaks dunning resumes at the level
  the item had when the plan was agreed and advances at most one level a run from there
  (``receivables.payment_plans`` judges the plans; ``plan_grace_days`` sets the grace).
* **Promises from the contact log**: a ``PROMISE`` outcome of the ``activities`` extract is a
  promise like a row of ``promises`` (id ``ACT-`` + activity_id, made on occurred_on, for
  its promised_amount and promised_date).  It names no document, so it is a whole-account
  promise as above.  A promise in both sources with the same id counts once, as the
  extract's row (``promise_book``).
* **Courtesy level**: a policy whose level 1 has ``days_past_due`` 0 or less (-5 = five days
  before the due date; email only, no fee, interest or compensation, validated at load) sends
  a friendly note before the due date.  An open item with a due date, not yet overdue and
  within that many days of it, reaches level 1 like any level: once (the history decides),
  after the same exclusions, its notice's minimum checked against the customer's dunnable
  items in the window plus its credits (less unallocated payments as above).  The notice
  lists the group's items in their window and takes level 1's template; it never lists an
  overdue item.  **A customer who owes overdue money gets no friendly note**: when the group
  has an overdue item that is dunnable or waits for a person (``CREDIT_BALANCE``,
  ``UNAPPLIED_CASH``), its items in the window get no courtesy (internally
  ``OVERDUE_ACCOUNT``) and are not on the overdue notice either; a "your invoices fall due
  soon" letter beside, or instead of, the reminder would read as if the account were in
  order.  Overdue items paused for a dispute, block, promise or plan do not stop the courtesy
  of other invoices.  Items in the window are never in ``skipped`` (it lists overdue items;
  a courtesy is optional, nobody has to act on a missing one), and an item dunned past level 1
  whose due date moved later waits until it is overdue again.  Once overdue an item climbs to
  level 2 at level 2's days, ``min_days_since_previous`` counted from the courtesy; one that
  never had its courtesy (first seen overdue, excluded or held in its window) lets level 1
  lapse and climbs from 0 to 2 without a gap, as level 1 in the history means the customer
  was sent a courtesy.  ``courtesy_notices`` tells a courtesy notice from a reminder.
* **Notice ids** are derived from as_of, company code, customer and currency, so a rerun
  gives the same ids (and the e-mail outbox the same idempotency keys).

The package, one concern a module: ``policies`` (the configuration models and
``load_dunning_policies``), ``policy_table`` (the policies as arrays for vectorised
look-ups), ``columns`` (items as plain numpy columns), ``items`` (the run's items with their
customer's facts), ``exclusions`` (why an overdue item is on no notice), ``promises``
(active and broken promises), ``levels`` (advance or hold), ``courtesy`` (the courtesy window and who gets a courtesy),
``interest`` (accrued interest
and the flat compensation), ``proposal`` (the ``DunningProposal`` frames, their columns and
the notice ids) and ``engine`` (``propose_dunning``: the rules in order).  Everything public
is importable from ``receivables.dunning``.
"""

from receivables.dunning.columns import Columns
from receivables.dunning.courtesy import OVERDUE_ACCOUNT, courtesy_notices
from receivables.dunning.engine import propose_dunning
from receivables.dunning.exclusions import EXCLUSION_REASONS
from receivables.dunning.interest import statutory_rate_days
from receivables.dunning.levels import HOLD_REASONS
from receivables.dunning.policies import (
    AmountsByCurrency,
    BaseRate,
    DunningLevel,
    DunningPolicies,
    DunningPolicy,
    FixedInterest,
    InterestRule,
    InterestSettings,
    StatutoryRate,
    load_dunning_policies,
)
from receivables.dunning.promises import ACTIVITY_PROMISE_PREFIX, promise_book, promises_from_activities
from receivables.dunning.proposal import (
    BROKEN_PROMISE_COLUMNS,
    COMPANY_NOT_CONFIGURED,
    HISTORY_COLUMNS,
    ITEM_COLUMNS,
    NOTICE_COLUMNS,
    SKIP_REASONS,
    SKIPPED_COLUMNS,
    DunningProposal,
    hold_companies,
    notice_id,
    typed_frame,
)

__all__ = [
    "ACTIVITY_PROMISE_PREFIX",
    "COMPANY_NOT_CONFIGURED",
    "OVERDUE_ACCOUNT",
    "courtesy_notices",
    "hold_companies",
    "BROKEN_PROMISE_COLUMNS",
    "EXCLUSION_REASONS",
    "HISTORY_COLUMNS",
    "HOLD_REASONS",
    "ITEM_COLUMNS",
    "NOTICE_COLUMNS",
    "SKIPPED_COLUMNS",
    "SKIP_REASONS",
    "AmountsByCurrency",
    "BaseRate",
    "Columns",
    "DunningLevel",
    "DunningPolicies",
    "DunningPolicy",
    "DunningProposal",
    "FixedInterest",
    "InterestRule",
    "InterestSettings",
    "StatutoryRate",
    "load_dunning_policies",
    "notice_id",
    "promise_book",
    "promises_from_activities",
    "propose_dunning",
    "statutory_rate_days",
    "typed_frame",
]
