"""Tools around a run: the release sweep, the mutation self-test, and the generated blocks of
hand-written documents (divergence table, self-test score)."""
