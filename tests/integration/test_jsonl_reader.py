"""The JSONL reader reads valid lines with orjson and gives every other line the standard
library's reading or its located problem: what it returns must not depend on which parser read
a line."""

from __future__ import annotations

import json

from expertloop.domain.errors import Problem
from expertloop.services.files import RecordFile

LINES = [
    b'{"prompt": "plain", "responses": [{"text": "a"}, {"text": "b"}]}',
    b'{"prompt": "caf\xc3\xa9 \\u00e9 \\ud83d\\ude00", "n": -0.0, "x": 1e400}',   # escapes, a pair
    b'{"prompt": "NaN is read as json reads it", "v": NaN}',                     # orjson refuses
    b'{"prompt": "big", "v": 123456789012345678901234567890}',                   # beyond 64 bits
    b'{"prompt": "lone \\ud800 surrogate"}',                                      # orjson refuses
    b"   ",                                                                       # blank: skipped
    b"\xc2\xa0",                                                                  # only a no-break space
    b'{"prompt": "dup", "prompt": "last wins"}',
    b'{"broken": ',                                                               # a located problem
    b"\xff\xfe not utf-8",
    b"[" * 5000 + b"]" * 5000,                                                    # too deep for orjson
]


def test_every_line_reads_as_the_standard_library_reads_it(tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"\n".join(LINES) + b"\n")
    got = dict(RecordFile(path))
    assert sorted(got) == [1, 2, 3, 4, 5, 8, 9, 10, 11]                         # lines 6, 7 are blank
    for n in (1, 2, 4, 5, 8):
        assert json.dumps(got[n], sort_keys=True) == json.dumps(json.loads(LINES[n - 1]), sort_keys=True), n
    assert got[3]["v"] != got[3]["v"]                                            # NaN, as json reads it
    assert isinstance(got[9], Problem) and got[9].loc == "line 9" and "invalid JSON" in got[9].msg
    assert isinstance(got[10], Problem) and "not UTF-8" in got[10].msg
    assert isinstance(got[11], (list, Problem))                                   # json's own verdict
