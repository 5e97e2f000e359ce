"""Personal data: encryption at rest, the blind index and masking (`crypto`), key rotation
and reindexing (`rotation`), and how long each kind of data is kept, then destroyed
(`retention`).

The models import `crypto` for their encrypted columns; nothing here is imported by this
package itself, so that importing `crypto` never pulls in the rest.
"""
