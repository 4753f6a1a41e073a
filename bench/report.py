"""bench/RESULTS.md from the suite's figures: one table (figure, value, baseline, ratio, target,
met/missed), then each benchmark's own report."""

from __future__ import annotations

from typing import Any

Row = tuple[str, str, str, str, str, str]


def ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


def verdict(ok: bool | None) -> str:
    return "recorded" if ok is None else ("met" if ok else "**missed**")


def latency_rows(r: dict[str, Any]) -> list[Row]:
    rows = []
    for q in ("p50", "p99"):
        ratio = r[f"ratio_{q}"]
        rows.append(
            (
                f"1. bot-turn latency {q}, livechat vs stock SocketIOInput ({r['turns']} turns)",
                ms(r["livechat"][q]),
                ms(r["stock"][q]),
                f"{ratio:.2f}",
                "≤ 1.05",
                verdict(ratio <= 1.05),
            )
        )
    return rows


def saturation_rows(r: dict[str, Any]) -> list[Row]:
    live, stock = r["livechat"], r["stock"]
    return [
        (
            f"2. saturation, bot turns/s with {r['visitors']} concurrent visitors",
            f"{live['turns_per_s']:.1f}/s ({live['timeouts']} timeouts)",
            f"{stock['turns_per_s']:.1f}/s ({stock['timeouts']} timeouts)",
            f"{r['ratio']:.2f}",
            "≥ 0.95",
            verdict(r["ratio"] >= 0.95),
        )
    ]


def relay_rows(r: dict[str, Any]) -> list[Row]:
    rows = []
    names = {"agent_to_visitor": "agent → visitor", "visitor_to_agent": "visitor → agent"}
    for count, paths in r.items():
        failed = int(paths.get("errors", {}).get("count", 0))
        for path, name in names.items():
            row = paths[path]
            rows.append(
                (
                    f"3. relay p99 {name}, {count} concurrent live chats",
                    ms(row["p99"]) + (f" ({failed} relays failed)" if failed else ""),
                    f"{ms(paths['echo']['p99'])} (echo)",
                    f"{row['ratio_p99']:.2f}",
                    "≤ 2",
                    verdict(row["ratio_p99"] <= 2 and not failed),
                )
            )
    return rows


def confirmation_rows(r: dict[str, Any]) -> list[Row]:
    return [
        (
            f"4. confirmation at escalation {q}, all notifiers on + 10 s-slow webhook vs all off",
            ms(r[f"slow_{q}_ms"]),
            ms(r[f"baseline_{q}_ms"]),
            f"{r[f'ratio_{q}']:.2f}",
            "≤ 1.1",
            verdict(r[f"ratio_{q}"] <= 1.1),
        )
        for q in ("p50", "p95")
    ]


def inbox_rows(r: dict[str, Any]) -> list[Row]:
    sizes = sorted(r, key=int)
    rows = []
    for kind, label in (
        ("list", "list (slowest of All/Waiting/Live/deep pages)"),
        ("search", "search (slowest)"),
    ):

        def worst(size: str, kind: str = kind) -> float:
            cases = r[size].items()
            return max(
                c["p99"] for name, c in cases if name.startswith("Search") == (kind == "search")
            )

        for size in sizes:
            small = sizes[0]
            base = worst(small) if size != small else None
            rows.append(
                (
                    f"5. inbox {label} p99, {int(size):,} conversations (SQLite)",
                    ms(worst(size)),
                    f"{ms(base)} at {int(small):,}" if base else "—",
                    f"{worst(size) / base:.2f}" if base else "—",
                    "< 50 ms",
                    verdict(worst(size) < 50),
                )
            )
    return rows


def memory_rows(r: dict[str, Any]) -> list[Row]:
    base = f"{r['rss_base_mb']:.0f} MB warm server RSS"
    return [
        (
            f"6. memory per idle connected visitor ({r['visitors']} sockets)",
            f"{r['kb_per_idle_visitor']:.1f} KB",
            base,
            f"{r['rss_connected_mb'] / r['rss_base_mb']:.2f} (RSS)",
            "—",
            verdict(None),
        ),
        (
            f"6. memory per live chat ({r['live_chats']} chats: a bot turn, then an agent)",
            f"{r['kb_per_live_chat']:.1f} KB",
            base,
            f"{r['rss_live_mb'] / r['rss_base_mb']:.2f} (RSS)",
            "—",
            verdict(None),
        ),
    ]


def load_rows(r: dict[str, Any], results: dict[str, Any], minutes: float) -> list[Row]:
    stock = (results.get("livechat_latency") or {}).get("stock")
    relay = results.get("relay") or {}
    echo = relay[max(relay, key=int)]["echo"]["p99"] if relay else None
    errors = sum(r["errors"].values())
    head = f"7. load, {r['connected']}/{r['visitors']} visitors, {minutes:g} min"
    rows: list[Row] = [
        (
            f"{head}: error rate ({r['operations']} operations)",
            f"{r['error_rate']:.2%}" + (f" {r['errors']}" if errors else ""),
            "0 errors",
            "—",
            "0 %",
            verdict(errors == 0),
        )
    ]
    for q in ("p95", "p99"):
        rows.append(
            (
                f"{head}: bot reply {q} ({r['bot_turns']} replies)",
                ms(r[f"bot_{q}_ms"]),
                f"{ms(stock['p99'])} (stock p99, idle)" if stock else "—",
                f"{r[f'bot_{q}_ms'] / stock['p99']:.2f}" if stock else "—",
                "—",
                verdict(None),
            )
        )
    for q in ("p95", "p99"):
        rows.append(
            (
                f"{head}: relay {q} ({r['relays']} relays, {r['live_chats']} live chats)",
                ms(r[f"relay_{q}_ms"]),
                f"{ms(echo)} (echo p99)" if echo else "—",
                f"{r[f'relay_{q}_ms'] / echo:.2f}" if echo else "—",
                "—",
                verdict(None),
            )
        )
    rows.append(
        (
            f"{head}: every message accounted for",
            f"visitor {r['visitor_stored']}/{r['visitor_sent']}, "
            f"agent {r['agent_stored']}/{r['agent_sent']} stored/sent",
            "sent",
            "—",
            "stored = sent",
            verdict(bool(r["accounted"])),
        )
    )
    return rows


def render(
    machine: dict[str, str],
    command: str,
    results: dict[str, Any],
    reports: dict[str, str],
    *,
    quick: bool,
    minutes: float,
) -> str:
    makers = {
        "livechat_latency": latency_rows,
        "saturation": saturation_rows,
        "relay": relay_rows,
        "confirmation_latency": confirmation_rows,
        "inbox_list": inbox_rows,
        "memory": memory_rows,
    }
    rows: list[Row] = []
    for module, result in results.items():
        if result is None:
            rows.append((f"{module}", "FAILED", "—", "—", "—", "**missed**"))
        elif module == "load":
            rows += load_rows(result, results, minutes)
        else:
            rows += makers[module](result)
    lines = [
        "# Performance figures"
        + (" (quick smoke run: sizes too small to mean anything)" if quick else ""),
        "",
        "Every figure is measured against its baseline in the same run on the same machine (shared",
        "and noisy: compare ratios, not milliseconds, between machines or runs).",
        "",
        f"- machine: {machine['nproc']} CPUs ({machine['cpu']}), {machine['memory']} memory, "
        f"Python {machine['python']}",
        f"- date: {machine['date']}",
        f"- commit: {machine['commit']}",
        f"- command: `{command}`",
        "",
        "| figure | value | baseline | ratio | target | |",
        "|---|---|---|---|---|---|",
        *(f"| {' | '.join(row)} |" for row in rows),
        "",
        "## Details (each benchmark's own report)",
        "",
    ]
    for module, report in reports.items():
        kept = [line for line in report.rstrip().splitlines() if "\x1b[" not in line]  # log noise
        lines += [f"### bench/{module}.py", "", "```", *kept, "```", ""]
    return "\n".join(lines)
