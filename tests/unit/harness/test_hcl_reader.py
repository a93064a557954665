"""The small HCL reader the Vault tests use reads what it claims and refuses what it cannot read."""

from __future__ import annotations

import pytest

from tests.harness.hcl import HclError, parse


def test_reads_attributes_labelled_and_repeated_blocks():
    body = parse(
        'ui = true\n# comment\nport = 8200\nstorage "raft" {\n  path = "/d"\n'
        '  retry_join { leader_api_addr = "https://a:8200" }\n  retry_join { leader_api_addr = "https://b:8200" }\n}\n'
        'service_registration "kubernetes" {}\n'
    )
    assert body.attributes == {"ui": True, "port": 8200}
    raft = body.one("storage", "raft").body
    assert raft.attributes["path"] == "/d"
    assert [j.body.attributes["leader_api_addr"] for j in raft.all("retry_join")] == [
        "https://a:8200",
        "https://b:8200",
    ]
    assert body.one("service_registration", "kubernetes").body.blocks == []


@pytest.mark.parametrize(
    "text",
    ['a = ["x"]', "a {", "}", 'a = "x"\na = "y"', "block", "a = b + 1", "x = <<EOF\ny\nEOF"],
)
def test_refuses_what_it_cannot_read(text: str):
    with pytest.raises(HclError):
        parse(text)
