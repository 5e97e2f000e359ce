"""The `helpline` command: the one place every command group is registered.

One module per command group (`run`, `worker`, `check`, `db`, `staff`, `audit`, `keys`,
`flows`, `sandbox`, `demo`, `retention`, `journal`, `fallback`, `report`); what they share is in
`common`, which imports none of them. No command module imports this registry.
"""

from __future__ import annotations

import click

from helpline.cli import (
    audit,
    check,
    db,
    demo,
    fallback,
    flows,
    journal,
    keys,
    report,
    retention,
    run,
    sandbox,
    staff,
    worker,
)

COMMANDS: tuple[click.Command, ...] = (
    run.run,
    sandbox.sandbox,
    worker.worker,
    check.check,
    db.db,
    staff.site,
    staff.staff,
    audit.audit_group,
    keys.keys,
    flows.flows,
    sandbox.simulate,
    demo.demo,
    sandbox.demo_traffic,
    retention.retention,
    journal.journal,
    fallback.fallback_twiml,
    report.report,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Run and administer the helpline."""


for command in COMMANDS:
    main.add_command(command)
