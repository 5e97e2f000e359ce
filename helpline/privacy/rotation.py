"""Key rotation: re-encrypt every encrypted column under the newest key (`helpline keys
rotate`), and recompute every blind index under the current BLIND_INDEX_KEY (`helpline
keys reindex`)."""

from __future__ import annotations

import sqlalchemy as sa

from helpline.models.base import DbSession, blind_indexed_columns, encrypted_columns
from helpline.privacy import crypto as privacy

BATCH = 500


def rotate_all(session: DbSession) -> dict[str, int]:
    """Rotate each encrypted value in place; returns counts per `table.column`."""
    keyring = privacy.keyring()
    counts: dict[str, int] = {}
    for column in encrypted_columns():
        table = column.table
        (pk,) = table.primary_key.columns
        raw = sa.type_coerce(column, sa.Text)  # the stored token, not the plaintext
        done, last = 0, None
        while True:
            query = sa.select(pk, raw).where(column.is_not(None)).order_by(pk).limit(BATCH)
            if last is not None:
                query = query.where(pk > last)
            rows = session.execute(query).all()
            if not rows:
                break
            for key, token in rows:
                session.execute(
                    sa.update(table)
                    .where(pk == key)
                    .values({column.name: sa.literal(keyring.rotate(token), sa.Text)})
                )
            done += len(rows)
            last = rows[-1][0]
        counts[f"{table.name}.{column.name}"] = done
    return counts


def reindex_all(session: DbSession) -> dict[str, int]:
    """Recompute each blind index from the value it indexes, under the current key.

    Returns, per `table.column`, how many indexes changed (0 when the key did not). Run
    it with the line stopped: until it is done, numbers are not recognised.
    """
    keyring = privacy.keyring()
    counts: dict[str, int] = {}
    for index, encrypted in blind_indexed_columns():
        table = index.table
        (pk,) = table.primary_key.columns
        changed, last = 0, None
        while True:
            query = (
                sa.select(pk, index, encrypted)
                .where(encrypted.is_not(None))
                .order_by(pk)
                .limit(BATCH)
            )
            if last is not None:
                query = query.where(pk > last)
            rows = session.execute(query).all()
            if not rows:
                break
            for key, old, value in rows:
                new = keyring.blind_index(value)
                if new != old:
                    session.execute(sa.update(table).where(pk == key).values({index.name: new}))
                    changed += 1
            last = rows[-1][0]
        counts[f"{table.name}.{index.name}"] = changed
    return counts
