"""Cases and person profiles: the domain of case management (docs/cases.md).

Pure of Flask. Functions take a session, the acting member of staff (`by`) and the time
(`now`); they check the deployment's rules (data/permissions.yaml), append audit entries
in the caller's transaction and leave the commit to the caller. Audit details name ids,
codes and changed fields, never a name, a number or a note's text.

- `access`: who may do what to a case or a profile (the rules' subjects), the errors;
- `persons`: profiles from a contact's caller, consent, numbers linked and unlinked;
- `cases`: open, add contacts, assign, status, needs, risk, linked persons, notes;
- `relatives`: a family member without a profile, made from the case and linked to it;
- `plan`: goals and actions; an action that is a call becomes a follow-up callback;
- `timeline`: every call, record, callback, referral, change and note, newest first;
- `queries`: "My cases", the supervisor's search and caseload;
- `wellbeing`, `who5`: WHO-5 scoring, its change over time, and its data file.
"""
