"""Cases for the cases benchmark, generated inside PostgreSQL on top of the call-log seed.

`bench.search.generate` makes the line (12 sites, 40 counsellors, 100,000 callers, the
calls, a contact record for one answered call in ten and the callbacks); this adds, with
INSERT ... SELECT generate_series:

- one case per chosen answered call (spread evenly over the calls without a record): a
  person whose number is that call's caller, their consent, the contact record that
  opened the case, worked by the call's counsellor at the counsellor's centre;
- statuses (open, active, on hold, reopened, closed with a reason) with their history,
  an assignment and a risk assessment each, a goal, two actions (an open one due from
  three weeks ago to a month ahead, so some are overdue, one in five a call with its
  pending callback; and a done one), the plan changes and a note; one case in ten
  linked to another person (a child);
- one person with `contacts` calls from one number over two years, each with a contact
  record in one case, a callback for one record in five (with the call it made), and a
  longer history (goals, actions, notes, statuses, risks).

Ids are given explicitly (the generated rows above `OFFSET`), and every sequence is
moved past them afterwards.
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

OFFSET = 10_000_000  # ids of generated records and callbacks start above this
PERSON_CALLER = 100_001  # the 500-contact person's number (the call-log seed has 100,000)

_OPENING = """
CREATE TEMP TABLE bench_opening ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY call_id) AS n, call_id, caller_id, worker_id,
       1 + worker_id % 12 AS site_id, at
FROM (
  SELECT id AS call_id, caller_id, counsellor_id AS worker_id, ended_at AS at,
         row_number() OVER (ORDER BY id) AS r, count(*) OVER () AS total
  FROM call
  WHERE outcome = 'answered' AND caller_id IS NOT NULL AND id % 10 <> 0
) eligible
WHERE r * :cases / total > (r - 1) * :cases / total  -- :cases of them, evenly spread
"""

# One row per case, with what the other statements derive from it: its status (by n),
# the open action's due time and whether that action is a call.
_SHAPE = """
CREATE TEMP TABLE bench_case ON COMMIT DROP AS
SELECT o.*, s.status,
       o.at + ((o.n * 7) % 52 - 21) * interval '1 day' + interval '1 day' AS due,
       s.status <> 'closed' AND o.n % 5 = 0 AS is_call,
       o.at + (now() - o.at) / 2 AS moved_at
FROM bench_opening o,
LATERAL (SELECT CASE WHEN o.n % 20 < 3 THEN 'open' WHEN o.n % 20 < 10 THEN 'active'
                     WHEN o.n % 20 < 12 THEN 'on_hold' WHEN o.n % 20 < 13 THEN 'reopened'
                     ELSE 'closed' END AS status) s
"""

_CASES = [
    _OPENING,
    _SHAPE,
    """INSERT INTO person (id, gender, nationality, languages, declined, created_by_id,
                           created_at, updated_at)
       SELECT n, (ARRAY['female','male','female'])[1 + n % 3], 'SY', '["ar"]', '[]',
              worker_id, at, at
       FROM bench_case""",
    """INSERT INTO person_number (person_id, caller_id, linked_at, linked_by_id)
       SELECT n, caller_id, at, worker_id FROM bench_case""",
    """INSERT INTO person_consent (person_id, call_id, kind, is_granted, source,
                                   recorded_by_id, recorded_at)
       SELECT n, call_id, 'profile', true, 'console', worker_id, at FROM bench_case""",
    """INSERT INTO "case" (id, reference, person_id, worker_id, site_id, status,
                           closure_reason, needs, risk_level, next_due_at, opened_by_id,
                           opened_at, closed_at, updated_at)
       SELECT n, 'CS-' || lpad((n / 10000)::text, 4, '0') || '-' || lpad((n % 10000)::text,
              4, '0'), n, worker_id, site_id, status,
              CASE WHEN status = 'closed' THEN
                (ARRAY['goals_met','referred_on','no_contact','moved_away'])[1 + n % 4] END,
              '["psychosocial"]', (ARRAY['none','low','low','medium','high'])[1 + n % 5],
              CASE WHEN status <> 'closed' THEN due END, worker_id, at,
              CASE WHEN status = 'closed' THEN moved_at END, moved_at
       FROM bench_case""",
    """INSERT INTO contact_record (id, call_id, caller_id, counsellor_id, case_id, status,
                                   call_type, categories, risk_level, is_safety_plan_made,
                                   version, created_at, updated_at, finalised_at)
       SELECT :offset + n, call_id, caller_id, worker_id, n, 'final', 'data',
              '["psychosocial"]', 'low', false, 1, at, at, at
       FROM bench_case""",
    """UPDATE "case" SET opened_from_record_id = :offset + id""",
    """INSERT INTO callback_request (id, caller_id, call_id, reason, language, priority,
                                     preferred_staff_id, due_from, expires_at,
                                     next_attempt_at, attempts, max_attempts, status,
                                     created_at, updated_at)
       SELECT :offset + n, caller_id, call_id, 'follow_up', 'ar', 0, worker_id, due,
              due + interval '3 days', due, 0, 3, 'pending', at, at
       FROM bench_case WHERE is_call""",
    """INSERT INTO case_goal (id, case_id, description_encrypted, status, created_by_id,
                              created_at, updated_at)
       SELECT n, n, :token, CASE WHEN status = 'closed' THEN 'achieved' ELSE 'open' END,
              worker_id, at, at
       FROM bench_case""",
    """INSERT INTO case_action (id, case_id, goal_id, description_encrypted, owner_id,
                                due_at, status, is_call, callback_request_id, created_by_id,
                                created_at, completed_at)
       SELECT 2 * n - 1, n, n, :token, worker_id, due,
              CASE WHEN status = 'closed' THEN 'cancelled' ELSE 'open' END, is_call,
              CASE WHEN is_call THEN :offset + n END, worker_id, at,
              CASE WHEN status = 'closed' THEN moved_at END
       FROM bench_case
       UNION ALL
       SELECT 2 * n, n, n, :token, worker_id, at + interval '1 day', 'done', false, NULL,
              worker_id, at, at + interval '1 day'
       FROM bench_case""",
    """INSERT INTO case_plan_change (case_id, kind, goal_id, action_id, changed_by_id,
                                     changed_at)
       SELECT n, (ARRAY['goal_added','action_added','action_added','action_done'])[k],
              n, CASE WHEN k = 2 THEN 2 * n - 1 WHEN k > 2 THEN 2 * n END, worker_id,
              at + (k - 1) * interval '1 minute'
       FROM bench_case, generate_series(1, 4) k""",
    """INSERT INTO case_status_change (case_id, from_status, to_status, closure_reason,
                                       changed_by_id, changed_at)
       SELECT n, NULL, 'open', NULL, worker_id, at FROM bench_case
       UNION ALL
       SELECT c.n, 'open', c.status, k.closure_reason, c.worker_id, c.moved_at
       FROM bench_case c JOIN "case" k ON k.id = c.n WHERE c.status <> 'open'""",
    """INSERT INTO case_assignment (case_id, worker_id, site_id, assigned_by_id, assigned_at)
       SELECT n, worker_id, site_id, worker_id, at FROM bench_case""",
    """INSERT INTO case_risk (case_id, risk_level, assessed_by_id, assessed_at)
       SELECT c.n, k.risk_level, c.worker_id, c.at
       FROM bench_case c JOIN "case" k ON k.id = c.n""",
    """INSERT INTO case_note (case_id, text_encrypted, written_by_id, written_at)
       SELECT n, :token, worker_id, at + interval '2 minutes' FROM bench_case""",
    """INSERT INTO case_person (case_id, person_id, relationship, linked_by_id, linked_at)
       SELECT n, n + 1, 'child', worker_id, at FROM bench_case
       WHERE n % 10 = 0 AND n < :cases""",
]

# The person with `contacts` contacts: calls :calls + k from one number, 36 hours apart,
# each with its record; a callback for every fifth record and the call it made.
_PERSON = [
    """INSERT INTO caller (id, number_index, number_encrypted, first_seen_at, last_seen_at)
       VALUES (:caller, md5('bench person'), :number, now() - :contacts * interval '36 hours',
               now())""",
    """INSERT INTO person (id, gender, nationality, languages, declined, created_by_id,
                           created_at, updated_at)
       VALUES (:person, 'female', 'AF', '["fa"]', '[]', :worker,
               now() - :contacts * interval '36 hours', now())""",
    """INSERT INTO person_number (person_id, caller_id, linked_at, linked_by_id)
       VALUES (:person, :caller, now() - :contacts * interval '36 hours', :worker)""",
    """INSERT INTO person_consent (person_id, kind, is_granted, source, recorded_by_id,
                                   recorded_at)
       VALUES (:person, 'profile', true, 'console', :worker,
               now() - :contacts * interval '36 hours')""",
    """INSERT INTO "case" (id, reference, person_id, worker_id, site_id, status, needs,
                           risk_level, next_due_at, opened_by_id, opened_at, updated_at)
       VALUES (:person, 'CS-BNCH-0500', :person, :worker, 1 + :worker % 12, 'active',
               '["psychosocial","social_assistance"]', 'medium', now() - interval '1 day',
               :worker, now() - :contacts * interval '36 hours', now())""",
    """INSERT INTO call (id, call_sid, direction, caller_id, is_number_withheld, started_at,
                         queued_at, dequeued_at, answered_at, ended_at, wait_seconds,
                         duration_seconds, language, topic, priority, outcome, counsellor_id,
                         site_id, is_recording_consented, flow_id, flow_version)
       SELECT :calls + k, 'CA' || md5('bench person ' || k), 'inbound', :caller, false, t,
              t + interval '20 seconds', t + interval '60 seconds', t + interval '60 seconds',
              t + interval '900 seconds', 40, 900, 'fa', 'psychosocial', 0, 'answered',
              :worker, 1 + :worker % 12, false, 'default', 'bench'
       FROM (SELECT k, now() - k * interval '36 hours' AS t
             FROM generate_series(1, :contacts) k) s""",
    """INSERT INTO contact_record (id, call_id, caller_id, counsellor_id, case_id, status,
                                   call_type, categories, risk_level, is_safety_plan_made,
                                   version, created_at, updated_at, finalised_at)
       SELECT :offset + :person + k, id, :caller, :worker, :person, 'final', 'data',
              '["psychosocial"]', (ARRAY['low','medium','none'])[1 + k % 3], false, 1,
              ended_at, ended_at, ended_at
       FROM (SELECT id, id - :calls AS k, ended_at FROM call
             WHERE id BETWEEN :calls + 1 AND :calls + :contacts) c""",
    """INSERT INTO callback_request (id, caller_id, call_id, contact_record_id, reason,
                                     language, priority, preferred_staff_id, due_from,
                                     expires_at, next_attempt_at, attempts, max_attempts,
                                     status, outcome, created_at, updated_at)
       SELECT :offset + :person + k, :caller, :calls + k, :offset + :person + k, 'follow_up',
              'fa', 0, :worker, t + interval '1 day', t + interval '4 days',
              t + interval '1 day', 1, 3, 'completed', 'connected', t, t + interval '1 day'
       FROM (SELECT k, now() - k * interval '36 hours' + interval '1 hour' AS t
             FROM generate_series(5, :contacts, 5) k) s""",
    """INSERT INTO call (id, call_sid, direction, caller_id, is_number_withheld, started_at,
                         answered_at, ended_at, duration_seconds, language, priority, outcome,
                         counsellor_id, site_id, is_recording_consented, callback_request_id)
       SELECT :calls + :contacts + k, 'CA' || md5('bench callback ' || k), 'outbound',
              :caller, false, t, t + interval '10 seconds', t + interval '600 seconds', 590,
              'fa', 0, 'answered', :worker, 1 + :worker % 12, false, :offset + :person + k
       FROM (SELECT k, now() - k * interval '36 hours' + interval '25 hours' AS t
             FROM generate_series(5, :contacts, 5) k) s""",
    """INSERT INTO case_goal (id, case_id, description_encrypted, status, created_by_id,
                              created_at, updated_at)
       SELECT :person + g, :person, :token, 'open', :worker, t, t
       FROM (SELECT g, now() - g * interval '120 days' AS t
             FROM generate_series(1, 5) g) s""",
    """INSERT INTO case_action (id, case_id, goal_id, description_encrypted, owner_id,
                                due_at, status, is_call, created_by_id, created_at,
                                completed_at)
       SELECT 2 * :person + a, :person, :person + 1 + a % 5, :token, :worker, t,
              CASE WHEN a <= 3 THEN 'open' ELSE 'done' END, false, :worker,
              t - interval '7 days', CASE WHEN a > 3 THEN t END
       FROM (SELECT a, now() + interval '2 days' - a * interval '30 days' AS t
             FROM generate_series(1, 20) a) s""",
    """INSERT INTO case_plan_change (case_id, kind, action_id, changed_by_id, changed_at)
       SELECT :person, 'action_added', 2 * :person + a, :worker,
              now() - a * interval '30 days' - interval '5 days'
       FROM generate_series(1, 20) a""",
    """INSERT INTO case_note (case_id, text_encrypted, written_by_id, written_at)
       SELECT :person, :token, :worker, now() - k * interval '15 days' + interval '3 hours'
       FROM generate_series(1, 50) k""",
    """INSERT INTO case_status_change (case_id, from_status, to_status, changed_by_id,
                                       changed_at)
       SELECT :person, CASE WHEN k = 10 THEN NULL WHEN k % 2 = 0 THEN 'on_hold'
                            ELSE 'active' END,
              CASE WHEN k = 10 THEN 'open' WHEN k % 2 = 0 THEN 'active' ELSE 'on_hold' END,
              :worker, now() - k * interval '70 days'
       FROM generate_series(1, 10) k""",
    """INSERT INTO case_risk (case_id, risk_level, assessed_by_id, assessed_at)
       SELECT :person, (ARRAY['low','medium','high'])[1 + k % 3], :worker,
              now() - k * interval '35 days'
       FROM generate_series(1, 20) k""",
    """INSERT INTO case_assignment (case_id, worker_id, site_id, assigned_by_id, assigned_at)
       VALUES (:person, :worker, 1 + :worker % 12, :worker,
               now() - :contacts * interval '36 hours')""",
]

_SEQUENCED = (
    "person", "person_number", "person_consent", "case", "contact_record",
    "callback_request", "call", "caller", "case_goal", "case_action", "case_plan_change",
    "case_status_change", "case_assignment", "case_risk", "case_note", "case_person",
)  # fmt: skip


# Moves a table's sequence past the ids given explicitly (the names come from _SEQUENCED).
_SETVAL = (
    "SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT max(id) FROM \"{table}\"))"
)


@dataclasses.dataclass(frozen=True)
class Seeded:
    """What the cases seed made: counts, and the ids the measurements start from."""

    cases: int
    person_id: int  # the person with `contacts` contacts, and their case's id
    contacts: int
    worker_id: int
    span_days: float  # from the oldest case's opening to now

    @property
    def age_days(self) -> tuple[int, int]:
        """An age window for the search: the middle third of the cases' span, in days."""
        return int(self.span_days / 3), int(2 * self.span_days / 3)


def generate(
    database_url: str, token: str, number: str, calls: int, cases: int, contacts: int, worker: int
) -> Seeded:
    """Add `cases` cases and the `contacts`-contact person (the call-log seed already made
    `calls` calls); `token` is an encrypted text for goals, actions and notes, `number` an
    encrypted number. Returns what it made (after ANALYZE)."""
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        params = {"cases": cases, "offset": OFFSET, "token": token}
        for statement in _CASES:
            connection.execute(sa.text(statement), params)
        made, span = connection.execute(
            sa.text('SELECT count(*), extract(epoch FROM now() - min(opened_at)) FROM "case"')
        ).one()
        if made < cases:
            raise RuntimeError(f"benchmark: only {made} answered calls to open cases from")
        person = {
            "person": cases + 1, "caller": PERSON_CALLER, "contacts": contacts, "calls": calls,
            "worker": worker, "offset": OFFSET, "token": token, "number": number,
        }  # fmt: skip
        for statement in _PERSON:
            connection.execute(sa.text(statement), person)
        for table in _SEQUENCED:
            connection.execute(sa.text(_SETVAL.format(table=table)))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text('VACUUM "case"'))  # the opening records' UPDATE
        connection.execute(sa.text("ANALYZE"))
    engine.dispose()
    return Seeded(cases, cases + 1, contacts, worker, float(span) / 86400)
