"""The table both connectors capture and the changes made to it (Tests/Debezium/compare.py).

One table, `public.dbz_parity`, with a column of each common PostgreSQL type Debezium's
PostgreSQL connector documents a mapping for; `ltree` and `hstore` columns only when those
extensions can be created. Two rows exist before the connectors start (their snapshot reads),
then one row is inserted, updated and deleted, each in its own transaction (streamed events).
SQL runs through `psql`, which `make test` installs with PostgreSQL.
"""

import subprocess

TABLE = "dbz_parity"

# (column, type, row 1: ordinary values, row 2: edge values, row 3 insert, row 3 update or None)
# Values are SQL literals; None in an update column leaves it unchanged.
COLUMNS = [
    ("c_smallint", "smallint", "7", "-32768", "32767", "8"),
    ("c_integer", "integer", "123456", "-1", "2147483647", None),
    ("c_bigint", "bigint", "9007199254740993", "-9223372036854775808", "0", None),
    ("c_numeric", "numeric(12,3)", "12345.678", "-0.001", "1", "0"),
    ("c_numeric_var", "numeric", "3.14159265358979", "'NaN'", "100", "-2.5e-7"),
    ("c_money", "money", "1234.56", "-0.01", "0", "99.99"),
    ("c_real", "real", "1.5", "'NaN'", "'Infinity'", "'-Infinity'"),
    ("c_double", "double precision", "2.718281828", "'Infinity'", "'-Infinity'", "'NaN'"),
    ("c_bool", "boolean", "true", "false", "true", "false"),
    ("c_text", "text", "E'h\u00e9llo \"world\"\\n'", "''", "'inserted'", "'updated'"),
    ("c_varchar", "varchar(20)", "'varchar'", "NULL", "'v'", None),
    ("c_char", "char(5)", "'ab'", "'abcde'", "'x'", "'yz'"),
    ("c_bytea", "bytea", "'\\x0001ff'", "'\\x'", "'\\xdeadbeef'", None),
    ("c_uuid", "uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "NULL",
     "'00000000-0000-0000-0000-000000000000'", None),
    ("c_json", "json", "'{\"a\": 1, \"b\": [1, 2]}'", "'[]'", "'{\"k\":\"v\"}'", "'null'"),
    ("c_jsonb", "jsonb", "'{\"a\": 1, \"b\": [1, 2]}'", "'\"str\"'", "'{\"k\":\"v\"}'",
     "'{\"z\": null}'"),
    ("c_xml", "xml", "'<a>1</a>'", "NULL", "'<b x=\"1\"/>'", None),
    ("c_date", "date", "'2024-02-29'", "'1969-12-31'", "'2000-01-01'", "'1900-06-15'"),
    ("c_time", "time", "'13:45:30.123456'", "'00:00:00'", "'23:59:59.999999'", None),
    ("c_timetz", "timetz", "'13:45:30.5+02'", "'23:59:59-05:30'", "'00:00:01+00'", None),
    ("c_timestamp", "timestamp", "'2024-02-29 13:45:30.123456'", "'-infinity'", "'infinity'",
     "'1969-07-20 20:17:40'"),
    ("c_timestamptz", "timestamptz", "'2024-02-29 13:45:30.123456+02'", "'infinity'",
     "'-infinity'", "'2001-09-09 01:46:40.5+00'"),
    ("c_interval", "interval", "'1 year 2 mons 3 days 04:05:06.789'", "'-1 day -00:00:01'",
     "'0'", "'36 hours'"),
    ("c_enum", "dbz_parity_mood", "'happy'", "NULL", "'sad'", "'ok'"),
    ("c_int_array", "integer[]", "'{1,2,3}'", "'{}'", "'{-1}'", "NULL"),
    ("c_text_array", "text[]", "'{\"a\",\"b c\"}'", "'{NULL,\"x\"}'", "'{}'", None),
    ("c_inet", "inet", "'192.168.0.1/24'", "'::1'", "'10.1.2.3'", None),
    ("c_cidr", "cidr", "'10.0.0.0/8'", "'2001:db8::/32'", "'192.168.0.0/16'", None),
    ("c_macaddr", "macaddr", "'08:00:2b:01:02:03'", "NULL", "'ff:ff:ff:ff:ff:ff'", None),
    ("c_point", "point", "'(1.5,-2)'", "NULL", "'(0,0)'", "'(3,4)'"),
    ("c_bit1", "bit(1)", "B'1'", "B'0'", "B'1'", None),
    ("c_bit8", "bit(8)", "B'10100101'", "B'00000000'", "B'11111111'", None),
    ("c_varbit", "bit varying", "B'101'", "B''", "B'1'", None),
    ("c_tsvector", "tsvector", "'a fat cat'", "''", "'rat'", None),
    ("c_domain", "dbz_parity_positive", "42", "1", "7", None),
    # Catalog facts Debezium's schemas carry: NOT NULL (not optional) and constant defaults.
    ("c_not_null", "integer NOT NULL DEFAULT 7", "1", "2", "3", "4"),
    ("c_default", "text DEFAULT 'dflt'", "'a'", "NULL", "'b'", None),
]
EXTENSION_COLUMNS = {
    "ltree": ("c_ltree", "ltree", "'Top.Science.Astronomy'", "''", "'A'", None),
    "hstore": ("c_hstore", "hstore", "'\"a\"=>\"1\", \"b\"=>NULL'", "''", "'k=>v'", "'k=>w'"),
}
# The snapshot rows and the one streamed row, by primary key.
SNAPSHOT_IDS = [1, 2]
STREAMED_ID = 3
# The streamed changes are this many transactions (a BEGIN and an END each, with metadata).
STREAMED_TRANSACTIONS = 4
# The last transaction's events: creates of ids 4 and 5, then 5's key changed to 6 (a delete,
# its tombstone and a create): several events of one transaction, for transaction metadata.
MULTI_EVENTS = 4


class Database:
    """Runs SQL on the test database with `psql` (autocommit: each -c its own transaction)."""

    def __init__(self, url):
        self.url = url

    def run(self, *statements, check=True):
        args = ["psql", self.url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
        for s in statements:
            args += ["-c", s]
        done = subprocess.run(args, capture_output=True, text=True)
        if check and done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}\n{statements}")
        return done

    def value(self, statement):
        return self.run(statement).stdout.strip()


def columns_for(db):
    """The table's columns here: the common ones, plus ltree/hstore where the extension exists."""
    cols = list(COLUMNS)
    for ext, col in EXTENSION_COLUMNS.items():
        if db.run(f"CREATE EXTENSION IF NOT EXISTS {ext}", check=False).returncode == 0:
            cols.append(col)
    return cols


def create(db, cols):
    """(Re)creates the table, its enum and domain, and the two snapshot rows."""
    db.run(
        f"DROP TABLE IF EXISTS public.{TABLE}",
        "DROP TYPE IF EXISTS dbz_parity_mood",
        "DROP DOMAIN IF EXISTS dbz_parity_positive",
        "CREATE TYPE dbz_parity_mood AS ENUM ('sad', 'ok', 'happy')",
        "CREATE DOMAIN dbz_parity_positive AS integer CHECK (VALUE > 0)",
        f"CREATE TABLE public.{TABLE} (id integer PRIMARY KEY, "
        + ", ".join(f"{c[0]} {c[1]}" for c in cols) + ")",
        "SET TimeZone = 'UTC'; " + insert(cols, 1, 2),
        "SET TimeZone = 'UTC'; " + insert(cols, 2, 3),
    )


def insert(cols, id_, index):
    names = ", ".join(c[0] for c in cols)
    values = ", ".join(c[index] for c in cols)
    return f"INSERT INTO public.{TABLE} (id, {names}) VALUES ({id_}, {values})"


def change(db, cols):
    """The streamed changes: insert, update and delete of one row, three transactions; then
    one transaction of several changes (rows of ids only)."""
    sets = ", ".join(f"{c[0]} = {c[5]}" for c in cols if c[5] is not None)
    db.run(
        "SET TimeZone = 'UTC'; " + insert(cols, STREAMED_ID, 4),
        f"SET TimeZone = 'UTC'; UPDATE public.{TABLE} SET {sets} WHERE id = {STREAMED_ID}",
        f"DELETE FROM public.{TABLE} WHERE id = {STREAMED_ID}",
        f"BEGIN; INSERT INTO public.{TABLE} (id) VALUES (4); "
        f"INSERT INTO public.{TABLE} (id) VALUES (5); "
        f"UPDATE public.{TABLE} SET id = 6 WHERE id = 5; COMMIT",
    )


def drop(db):
    db.run(
        f"DROP TABLE IF EXISTS public.{TABLE}",
        "DROP TYPE IF EXISTS dbz_parity_mood",
        "DROP DOMAIN IF EXISTS dbz_parity_positive",
        check=False,
    )
