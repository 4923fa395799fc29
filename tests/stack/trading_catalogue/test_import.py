"""Bulk import of listings from CSV: the API endpoint and the command with its progress bar."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from devstack.layout import Profile
from devstack.processes import ManagedProcess
from pymongo import MongoClient

from tests.stack.trading_catalogue.support import (
    application_number,
    participant,
    register_organisation,
    search,
    trading,
    unique_word,
)
from tests.support.patents import verified_owner
from tests.support.stack import api_url, token

pytestmark = pytest.mark.stack

Mongo = MongoClient[dict[str, Any]]
HEADER = ("application_number,patent_kind,title,abstract,ipc_codes,industry,region_code,legal_status,filing_date,"
          "deal_types,price_yuan,owner_organisation_id")


def csv_file(word: str, owner: str) -> tuple[str, list[str]]:
    later = "2021-03-01"  # the filing date, in the numbers' year (2021); the expiry is computed
    good = [application_number(), application_number("utility_model"), application_number()]
    rows = [
        HEADER,
        f'{good[0]},invention,"锂电池 {word}",,H01M 10/0525;H01M 4/13,new_energy,210200,granted,{later},'
        f"exclusive_licence;ordinary_licence,500000,{owner}",
        f"{good[1]},utility_model,阀门 {word},,F16K 1/42,equipment_manufacturing,210100,granted,{later},"
        f"assignment,12.50,{owner}",
        f"202110123456.0,invention,坏号 {word},,H01M,new_energy,210200,granted,{later},assignment,,{owner}",   # row 4
        f"{application_number()},invention,坏分类 {word},,H01M;Q99,new_energy,210200,granted,{later},"
        f"assignment,1000,{owner}",                                                                      # row 5
        f"{application_number()},invention,,,H01M,new_energy,210200,granted,{later},assignment,abc,{owner}",  # 6
        f'{good[2]},invention,"机器人 {word}","焊接, 控制",B25J 9/16,equipment_manufacturing,210100,granted,'
        f"{later},ordinary_licence,,{owner}",
    ]
    return "\n".join(rows) + "\n", good


def test_import_reports_bad_rows_and_creates_nothing_twice(services: dict[str, ManagedProcess],
                                                            test_profile: Profile, mongo: Mongo) -> None:
    owner = register_organisation(test_profile)
    word = unique_word()
    text, good = csv_file(word, owner)
    for number in good:  # published by the import: only a verified owner's listings are
        verified_owner(test_profile, owner, number)
    organiser = {"Authorization": f"Bearer {token(test_profile, 'organiser-1', 'coordinator')}",
                 "Content-Type": "text/csv"}
    url = trading(test_profile, "/v1/listing-imports")
    first = httpx.post(url, content=text.encode(), headers=organiser, params={"publish": "true"})
    assert first.status_code == 200, first.text
    report = first.json()
    assert (report["rows_total"], report["created"], report["already_present"], report["rejected"]) == (6, 3, 0, 3)
    where = {(e["row"], e["column"]) for e in report["errors"]}
    assert (4, "application_number") in where
    assert (5, "ipc_codes") in where
    assert {(6, "title"), (6, "price_yuan")} <= where
    reasons = {(e["row"], e["column"]): e["reason"] for e in report["errors"]}
    assert "check character" in reasons[(4, "application_number")]
    assert "item 2" in reasons[(5, "ipc_codes")]
    assert [r["row"] for r in report["rows"]] == [2, 3, 7]
    assert all(r["status"] == "published" for r in report["rows"])
    assert {i["title"] for i in search(test_profile, q=word)["items"]} == {f"锂电池 {word}", f"阀门 {word}",
                                                                            f"机器人 {word}"}
    assert search(test_profile, q=f"{word} 控制")["items"][0]["abstract"] == "焊接, 控制"
    valve = next(r for r in report["rows"] if r["row"] == 3)
    assert httpx.get(trading(test_profile, f"/v1/listings/{valve['listing_id']}")).json()["price_fen"] == 1250

    again = httpx.post(url, content=text.encode(), headers=organiser, params={"publish": "true"}).json()
    assert (again["created"], again["already_present"], again["rejected"]) == (0, 3, 3)
    assert [r["listing_id"] for r in again["rows"]] == [r["listing_id"] for r in report["rows"]]
    listings = mongo[f"trading_{test_profile.name}"]["listings"]
    assert listings.count_documents({"owner_organisation_id": owner}) == 3


def test_import_authorisation_and_bad_files(services: dict[str, ManagedProcess], test_profile: Profile) -> None:
    owner, other = register_organisation(test_profile), register_organisation(test_profile)
    word = unique_word()
    text, _ = csv_file(word, other)
    url = trading(test_profile, "/v1/listing-imports")
    mine = {**participant(test_profile, owner), "Content-Type": "text/csv"}
    # A participant imports for itself only: rows naming another owner are refused row by row.
    report = httpx.post(url, content=text.encode(), headers=mine).json()
    assert report["created"] == 0
    assert {e["column"] for e in report["errors"] if e["row"] in (2, 3, 7)} == {"owner_organisation_id"}
    assert httpx.post(url, content=text.encode(), headers=mine, params={"owner": other}).status_code == 403
    json_body = httpx.post(url, json={"rows": []}, headers=participant(test_profile, owner))
    assert json_body.status_code == 415 and json_body.json()["errors"][0]["header"] == "Content-Type"
    unknown = httpx.post(url, content=b"application_number,colour\n1,red\n", headers=mine).json()
    assert unknown["errors"][0]["row"] == 1 and "colour" in unknown["errors"][0]["reason"]


def test_import_command_shows_progress_and_report(services: dict[str, ManagedProcess], test_profile: Profile,
                                                  tmp_path: Path) -> None:
    owner = register_organisation(test_profile)
    word = unique_word()
    text, good = csv_file(word, owner)
    path = tmp_path / "listings.csv"
    path.write_text(text, encoding="utf-8")
    command = [sys.executable, "-m", "trading", "import-listings", str(path), "--chunk", "2",
               "--api", api_url(test_profile, "trading")]
    env = {**os.environ, "IPO_TOKEN": token(test_profile, "organiser-2", "coordinator"), "COLUMNS": "200"}
    first = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert first.returncode == 1, first.stdout + first.stderr  # some rows were rejected
    assert "created 3, already present 0, rejected 3" in first.stdout
    assert "6/6" in first.stdout, "the progress bar counted every row"
    for row, column in (("4", "application_number"), ("5", "ipc_codes"), ("6", "title")):
        assert any(line.split("│")[1:3] and line.split("│")[1].strip() == row and column in line
                   for line in first.stdout.splitlines()), first.stdout
    again = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert "created 0, already present 3, rejected 3" in again.stdout, again.stdout
    mine = httpx.get(trading(test_profile, "/v1/listings/mine"), headers=participant(test_profile, owner)).json()
    assert sorted(i["application_number"] for i in mine["items"]) == sorted(g.replace(".", "") for g in good)
