"""`benkadi recurring …`: the monthly report reminder switched on and off, moved, from the CLI,
audited as from the console; a day or time that would never fire refused, named."""

from __future__ import annotations

import json

from storage import audit


async def test_the_monthly_reminder_from_the_cli(benkadi, sqlite_database):
    code, out, _ = await benkadi("recurring", "list")
    assert code == 0
    assert "rapport-mensuel: Rappel du rapport mensuel — disabled (benkadi recurring enable" in out
    assert "every month on the 25 at 09:00 (Bamako time)" in out
    code, out, _ = await benkadi("recurring", "enable", "rapport-mensuel")
    assert (code, out) == (0, "Recurring message rapport-mensuel is enabled.\n")
    code, out, _ = await benkadi(
        "recurring", "set", "rapport-mensuel", "--day", "28", "--time", "10:30"
    )
    assert code == 0
    code, out, _ = await benkadi("recurring", "list", "--json")
    [item] = json.loads(out)
    assert (item["enabled"], item["day"], item["time"]) == (True, 28, "10:30")
    code, _, err = await benkadi(
        "recurring", "set", "rapport-mensuel", "--day", "0", "--time", "09:00"
    )
    assert code == 2 and "day" in err and "never fires" in err
    code, _, err = await benkadi(
        "recurring", "set", "rapport-mensuel", "--day", "25", "--time", "25:00"
    )
    assert code == 2 and "time" in err
    code, _, err = await benkadi("recurring", "enable", "nope")
    assert code == 2 and "no recurring message nope" in err
    code, out, _ = await benkadi("recurring", "disable", "rapport-mensuel")
    assert out == "Recurring message rapport-mensuel is disabled.\n"
    entries = [e for e in await audit.entries(sqlite_database) if e["action"] == "recurring.change"]
    assert len(entries) == 3 and all(e["actor"].startswith("cli:") for e in entries)
