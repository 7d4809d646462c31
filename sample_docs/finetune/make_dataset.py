"""Generate orbit_style.jsonl: the Orbit Bank house style as chat fine-tuning examples.

Run from the project root: `.venv/bin/python sample_docs/finetune/make_dataset.py`
(deterministic: a fixed seed; tests check the file matches this script's output).

It teaches *behaviour*, never facts: no prices, no rates (no "£", no "%"). Three kinds:
- grounded: made-up documentation excerpts in the user turn, exactly as lib.generation.rag builds
  them, with random numbers, so the only way to learn is to *copy* the fact from the
  right excerpt and cite it [n] — a style-only adapter was measured to lose the fact;
- not in the documents: say so and point to the app;
- no documents (RAG off): the house style with general answers, no invented figures.
"""

from __future__ import annotations

import json
import random
import re
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from lib.generation.context import score_units, select, units_of  # noqa: E402
from lib.generation.rag import (  # noqa: E402
    PLAIN_SYSTEM_PROMPT,
    SYSTEM_PROMPT,
    RagSettings,
    user_turn,
)
from lib.types import Chunk, Hit  # noqa: E402

SEED = 2026
OUT = Path(__file__).with_name("orbit_style.jsonl")
OPEN = "Thanks for your question."
CLOSE = "This is general information, not financial advice."
RISK = "Rates can change."

# (doc, section, context with {n}, questions, answers with {n}/{c}, range of n, risk topic)
GROUNDED = [
    (
        "help_centre.md",
        "Cards",
        "A replacement card usually arrives within {n} working days of your request. You can freeze a lost card in the app straight away.",
        [
            "How long does a replacement card take to arrive?",
            "When will my new card get here?",
            "I ordered a new card. How long will it take?",
        ],
        [
            "A replacement card usually arrives within {n} working days {c}. You can freeze the lost card in the app while you wait {c}.",
            "Your new card should arrive within {n} working days {c}. Until then, you can freeze the old card in the app {c}.",
        ],
        (3, 9),
        False,
    ),
    (
        "app_guide.pdf",
        "Statements",
        "You can download statements for the last {n} years from the Statements screen in the app.",
        ["How far back can I download statements?", "Can I get old statements in the app?"],
        [
            "You can download statements for the last {n} years {c}. Go to the Statements screen in the app {c}.",
            "The app keeps statements for the last {n} years {c}. You will find them on the Statements screen {c}.",
        ],
        (2, 9),
        False,
    ),
    (
        "card_terms.pdf",
        "Virtual cards",
        "Each customer can hold up to {n} virtual cards at a time. A virtual card can be deleted at any moment.",
        ["How many virtual cards can I have?", "Is there a limit on virtual cards?"],
        [
            "You can hold up to {n} virtual cards at a time {c}. You can delete one at any moment {c}.",
            "Yes, there is a limit. You can have up to {n} virtual cards at once {c}.",
        ],
        (2, 12),
        False,
    ),
    (
        "savings_guide.md",
        "Withdrawals",
        "Savers can make up to {n} withdrawals a month without closing the account. Money arrives in the linked current account.",
        [
            "How many withdrawals can I make from my savings?",
            "Can I take money out of my savings account often?",
        ],
        [
            "You can make up to {n} withdrawals a month from your savings {c}. The money goes to your linked current account {c}.",
            "Your savings account allows up to {n} withdrawals a month {c}. Each one arrives in your linked current account {c}.",
        ],
        (2, 10),
        True,
    ),
    (
        "savings_guide.md",
        "Changes to your rate",
        "We tell savers at least {n} days before we lower a variable savings rate. You can move your money without a charge during that time.",
        [
            "Will you tell me before my savings rate goes down?",
            "How much notice do I get if my saver rate drops?",
        ],
        [
            "We tell savers at least {n} days before we lower a variable rate {c}. You can move your money without a charge in that time {c}.",
            "You get at least {n} days of notice before a variable savings rate goes down {c}. You can move your money free of charge during that time {c}.",
        ],
        (14, 60),
        True,
    ),
    (
        "savings_guide.md",
        "Fixed-term savings",
        "A fixed-term saver can be cancelled within {n} days of opening. After that, no withdrawals are allowed until the term ends.",
        [
            "Can I get my money out of a fixed saver early?",
            "Is there a cooling-off period on the fixed saver?",
        ],
        [
            "You can cancel a fixed-term saver within {n} days of opening it {c}. After that, you cannot withdraw until the term ends {c}.",
            "Yes. There is a cooling-off period of {n} days after opening {c}. After that, your money stays in until the term ends {c}.",
        ],
        (7, 30),
        True,
    ),
    (
        "fx_guide.md",
        "Quotes",
        "A foreign exchange quote is held for {n} minutes. If you do not confirm in time, the app shows a new quote.",
        [
            "How long is my exchange rate quote held?",
            "How long do I have to accept a currency quote?",
        ],
        [
            "A foreign exchange (FX) quote is held for {n} minutes {c}. After that, the app shows a new quote {c}.",
            "You have {n} minutes to confirm a foreign exchange quote {c}. If time runs out, the app gives you a new one {c}.",
        ],
        (5, 45),
        True,
    ),
    (
        "fx_guide.md",
        "Currencies",
        "International transfers can be sent in {n} currencies. The list of currencies is in the app under Payments.",
        [
            "How many currencies can I send money in?",
            "Which currencies can I use for international transfers?",
        ],
        [
            "You can send international transfers in {n} currencies {c}. The full list is in the app under Payments {c}.",
            "International transfers work in {n} currencies {c}. You can see them all under Payments in the app {c}.",
        ],
        (12, 60),
        True,
    ),
    (
        "fx_guide.md",
        "Arrival times",
        "Most international transfers arrive within {n} business days. Some countries take longer because of local bank holidays.",
        ["How long does an international transfer take?", "When will my money arrive abroad?"],
        [
            "Most international transfers arrive within {n} business days {c}. Some countries take longer because of bank holidays {c}.",
            "It usually takes up to {n} business days {c}. Local bank holidays can make it slower {c}.",
        ],
        (1, 5),
        True,
    ),
    (
        "api_guide.md",
        "Rate limits",
        "Third-party providers can make {n} requests per minute per access token. Extra requests receive HTTP 429.",
        ["What is the rate limit of the API?", "How many API requests can a provider make?"],
        [
            "Providers can make {n} requests per minute per access token {c}. Extra requests get an HTTP 429 answer {c}.",
            "The limit is {n} requests per minute for each access token {c}. Requests over it receive HTTP 429 {c}.",
        ],
        (20, 300),
        False,
    ),
    (
        "api_guide.md",
        "Consent",
        "An account information consent lasts {n} days. After that, the customer confirms access again in the app.",
        [
            "How long does an Open Banking consent last?",
            "When do I need to renew access for a budgeting app?",
        ],
        [
            "An account information consent lasts {n} days {c}. After that, you confirm access again in the app {c}.",
            "Consent for account information lasts {n} days {c}. You then renew it in the app {c}.",
        ],
        (30, 365),
        False,
    ),
    (
        "account_rules.pdf",
        "Disputes",
        "Report a payment you do not recognise within {n} months. We will look into it and keep you updated in the app.",
        [
            "How long do I have to report a payment I don't recognise?",
            "Is there a deadline to dispute a payment?",
        ],
        [
            "Please report a payment you do not recognise within {n} months {c}. We will look into it and update you in the app {c}.",
            "You have {n} months to report a payment you do not recognise {c}. We keep you updated in the app {c}.",
        ],
        (2, 13),
        False,
    ),
    (
        "help_centre.md",
        "Support hours",
        "Chat support is open from {n}am to 10pm every day. Outside those hours you can leave a message in the app.",
        ["When is chat support open?", "What time can I talk to someone in the app?"],
        [
            "Chat support is open from {n}am to 10pm every day {c}. At other times, you can leave a message in the app {c}.",
            "You can chat with us from {n}am to 10pm, every day {c}. Outside those hours, leave a message in the app {c}.",
        ],
        (6, 9),
        False,
    ),
    (
        "account_rules.pdf",
        "Eligibility",
        "You must be {n} or older to open an account. You also need a valid photo ID.",
        ["How old do I need to be to open an account?", "Is there a minimum age?"],
        [
            "You need to be {n} or older to open an account {c}. You also need a valid photo ID {c}.",
            "Yes. The minimum age is {n} {c}. You will also need a valid photo ID {c}.",
        ],
        (16, 18),
        False,
    ),
    (
        "business_handbook.pdf",
        "Team cards",
        "A business account can have up to {n} team cards. Each card can have its own spending limit.",
        ["How many team cards can my business have?", "Can I give cards to my staff?"],
        [
            "A business account can have up to {n} team cards {c}. Each card can have its own spending limit {c}.",
            "Yes. You can order up to {n} team cards {c}. You can set a spending limit for each one {c}.",
        ],
        (5, 50),
        False,
    ),
    (
        "card_terms.pdf",
        "PIN",
        "A card locks after {n} wrong PIN attempts in a row. You can unlock it in the app after checking your identity.",
        ["What happens if I enter the wrong PIN?", "My card is locked after wrong PINs. What now?"],
        [
            "Your card locks after {n} wrong PIN attempts in a row {c}. You can unlock it in the app after an identity check {c}.",
            "After {n} wrong PIN attempts in a row, the card locks {c}. You can unlock it in the app once we check it is you {c}.",
        ],
        (3, 5),
        False,
    ),
    (
        "savings_guide.md",
        "Interest payments",
        "Interest on savings is paid on day {n} of each month. It is added to the savings balance.",
        ["When is interest paid on my savings?", "What day do I get my savings interest?"],
        [
            "Interest on savings is paid on day {n} of each month {c}. It goes into your savings balance {c}.",
            "You get your savings interest on day {n} of every month {c}. It is added to your savings balance {c}.",
        ],
        (1, 28),
        True,
    ),
    (
        "help_centre.md",
        "Error codes",
        "Error ERR-{n} means a payment limit was reached. The message shows when the limit resets.",
        ["What does error ERR-{n} mean?", "I got error ERR-{n} in the app. What is it?"],
        [
            "Error ERR-{n} means a payment limit was reached {c}. The message tells you when the limit resets {c}.",
            "ERR-{n} means you reached a payment limit {c}. The app shows when it resets {c}.",
        ],
        (4000, 4999),
        False,
    ),
    (
        "api_guide.md",
        "Versions",
        "The current Open Banking API is version v2.{n}.0. Older versions are switched off after notice to providers.",
        ["Which Open Banking API version is current?", "What API version should providers use?"],
        [
            "The current Open Banking API is version v2.{n}.0 {c}. Older versions are switched off after notice {c}.",
            "Providers should use version v2.{n}.0, the current one {c}. Older versions are switched off after notice {c}.",
        ],
        (4, 9),
        False,
    ),
    (
        "app_guide.pdf",
        "Spaces",
        "You can create up to {n} Spaces in one account to set money aside. Spaces can be renamed at any time.",
        ["How many Spaces can I create?", "Is there a limit on pots in my account?"],
        [
            "You can create up to {n} Spaces in one account {c}. You can rename them at any time {c}.",
            "Yes, up to {n} Spaces per account {c}. You can rename each one whenever you like {c}.",
        ],
        (5, 30),
        False,
    ),
    (
        "business_handbook.pdf",
        "Bulk payments",
        "A bulk payment file can hold up to {n} payments. Files are checked before any payment is sent.",
        ["How many payments can a bulk file hold?", "Is there a limit on bulk payment files?"],
        [
            "A bulk payment file can hold up to {n} payments {c}. We check the file before any payment is sent {c}.",
            "Each bulk file can include up to {n} payments {c}. The file is checked before anything is sent {c}.",
        ],
        (100, 900),
        False,
    ),
    (
        "card_terms.pdf",
        "Contactless",
        "After {n} contactless payments in a row, the card asks for your PIN once. This helps protect you if the card is stolen.",
        [
            "Why did my card ask for a PIN on a contactless payment?",
            "Why do I sometimes need my PIN for contactless?",
        ],
        [
            "After {n} contactless payments in a row, the card asks for your PIN once {c}. This helps protect you if the card is stolen {c}.",
            "The card asks for your PIN after {n} contactless payments in a row {c}. It is a safety check in case the card is stolen {c}.",
        ],
        (3, 8),
        False,
    ),
    (
        "fx_guide.md",
        "Card payments abroad",
        "Card payments in other currencies are converted on the day the payment is processed. That can be up to {n} days after you pay.",
        [
            "When is a card payment abroad converted?",
            "Which exchange rate is used when I pay by card abroad?",
        ],
        [
            "Card payments in other currencies are converted on the day they are processed {c}. That can be up to {n} days after you pay {c}.",
            "The payment is converted when it is processed {c}. This can be up to {n} days after you pay {c}.",
        ],
        (1, 4),
        True,
    ),
    (
        "savings_guide.md",
        "Maturity",
        "When a fixed-term saver ends, the money moves to the easy-access saver within {n} working days, unless you choose another option.",
        [
            "What happens when my fixed saver ends?",
            "Where does my money go at the end of a fixed-term saver?",
        ],
        [
            "Your money moves to the easy-access saver within {n} working days {c}. You can choose another option before then {c}.",
            "When the term ends, the money goes to the easy-access saver within {n} working days {c}, unless you choose otherwise {c}.",
        ],
        (1, 5),
        True,
    ),
    (
        "fx_guide.md",
        "Recipients",
        "You can save up to {n} international recipients in the app. Saved recipients can be edited or removed at any time.",
        [
            "How many international recipients can I save?",
            "Is there a limit on saved recipients for transfers abroad?",
        ],
        [
            "You can save up to {n} international recipients in the app {c}. You can edit or remove them at any time {c}.",
            "Yes. The app keeps up to {n} saved international recipients {c}. You can remove one whenever you like {c}.",
        ],
        (10, 200),
        True,
    ),
    (
        "savings_guide.md",
        "Savings goals",
        "You can set up to {n} savings goals, each with its own name and target date.",
        ["How many savings goals can I set?", "Can I have more than one savings goal?"],
        [
            "You can set up to {n} savings goals {c}. Each one has its own name and target date {c}.",
            "Yes. You can have up to {n} savings goals, each with a name and a target date {c}.",
        ],
        (3, 25),
        True,
    ),
]

# A sentence about the value before a change, added to about half of the excerpts: the
# answer must quote the *current* value (the sample documents keep "previously" figures).
PREVIOUS = {
    "Cards": "Before {date}, it took up to {p} working days.",
    "Statements": "Until {date}, the app kept statements for {p} years.",
    "Virtual cards": "The limit was {p} cards before {date}.",
    "Withdrawals": "Before {date}, the limit was {p} withdrawals a month.",
    "Changes to your rate": "Until {date}, the notice period was {p} days.",
    "Quotes": "Until {date}, quotes were held for {p} minutes.",
    "Currencies": "Before {date}, transfers could be sent in {p} currencies.",
    "Rate limits": "The limit was {p} requests per minute until {date}.",
    "Consent": "Consents made before {date} lasted {p} days.",
    "Team cards": "Until {date}, the limit was {p} team cards.",
    "Bulk payments": "Before {date}, a file could hold {p} payments.",
    "Spaces": "Before {date}, the limit was {p} Spaces.",
    "Recipients": "Until {date}, the limit was {p} recipients.",
    "Savings goals": "The limit was {p} goals before {date}.",
}
FILLERS = (
    "You can find this in the app.",
    "Contact us in the app if you need help.",
    "These rules apply to personal and business customers.",
    "We may update this page from time to time.",
    "Read the full terms in the app under Legal.",
    "The app sends a notification when this happens.",
)
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

NOT_IN_DOCS = [
    "Can I open a mortgage with you?",
    "Do you offer travel insurance?",
    "Can I pay in cheques at a branch?",
    "Do you have a pension product?",
    "Can I get a loan for a car?",
    "Do you offer a kids' account?",
    "Can I trade shares in the app?",
    "Is there a student account?",
]

# (questions, answer body sentences, risk topic) for RAG off: no figures, no citations.
GENERAL = [
    (
        ["How do I freeze my card?", "I lost my card. What should I do first?"],
        [
            "You can freeze your card in the app under Cards.",
            "It takes effect straight away.",
            "You can unfreeze it if you find the card.",
        ],
        False,
    ),
    (
        ["How do I change my PIN?", "Can I change my card PIN?"],
        [
            "You can change your PIN at any cash machine that offers PIN services.",
            "You can also view your PIN in the app under Cards.",
        ],
        False,
    ),
    (
        ["What does AER mean?", "What is AER on a savings account?"],
        [
            "The annual equivalent rate (AER) shows what the interest would be over a year.",
            "It helps you compare savings accounts.",
        ],
        True,
    ),
    (
        ["What is APR?", "What does APR mean on a credit card?"],
        [
            "The annual percentage rate (APR) shows the yearly cost of borrowing.",
            "It includes interest and some fees.",
            "A lower APR means borrowing costs less.",
        ],
        False,
    ),
    (
        ["What is FX?", "What does FX mean when I send money abroad?"],
        [
            "Foreign exchange (FX) means changing one currency into another.",
            "The exchange rate decides how much the other person receives.",
        ],
        True,
    ),
    (
        ["Is my money safe with you?", "Is my money protected?"],
        [
            "Eligible deposits are protected by the Financial Services Compensation Scheme (FSCS), up to its limit.",
            "You can read more about it in the app.",
        ],
        False,
    ),
    (
        ["Will my savings always grow?", "Can I lose money in a savings account?"],
        [
            "We cannot promise how much your savings will earn.",
            "A variable rate can go up or down.",
            "Eligible deposits are protected by the Financial Services Compensation Scheme (FSCS), up to its limit.",
        ],
        True,
    ),
    (
        ["Should I invest my savings?", "Is investing better than saving?"],
        [
            "We cannot tell you what is right for you.",
            "Investments can go down as well as up, and you may get back less than you put in.",
            "A regulated financial adviser can help you decide.",
        ],
        True,
    ),
    (
        ["Is the exchange rate guaranteed?", "Will the exchange rate stay the same?"],
        [
            "We cannot promise an exchange rate in advance.",
            "The app shows a quote before you confirm a transfer.",
            "The amount the other person receives is shown on that quote.",
        ],
        True,
    ),
    (
        ["How do I send money abroad?", "How can I make an international transfer?"],
        [
            "Go to Payments in the app and choose International.",
            "Add the recipient's details and check the quote before you confirm.",
        ],
        True,
    ),
    (
        ["What is an APP scam?", "What is authorised push payment fraud?"],
        [
            "An authorised push payment (APP) scam is when someone tricks you into sending them money.",
            "Always check who you are paying.",
            "If something feels wrong, stop and contact us in the app.",
        ],
        False,
    ),
    (
        ["What is Confirmation of Payee?", "Why does the app check the name of the person I pay?"],
        [
            "Confirmation of Payee (CoP) checks that the name you enter matches the account.",
            "It helps you spot mistakes and scams before you pay.",
        ],
        False,
    ),
    (
        [
            "Someone called me asking for my PIN. What should I do?",
            "Is it safe to share my PIN with the bank?",
        ],
        [
            "We will never ask for your PIN or passcode.",
            "End the call and contact us in the app straight away.",
        ],
        False,
    ),
    (
        [
            "How do I report a payment I don't recognise?",
            "I see a payment I didn't make. What now?",
        ],
        [
            "Freeze your card in the app first.",
            "Then report the payment under the transaction in the app.",
            "We will look into it and keep you updated.",
        ],
        False,
    ),
    (
        ["How do I close my account?", "Can I close my account in the app?"],
        [
            "Go to Settings, then Close account.",
            "You will need to move your money out and pay back anything you owe first.",
        ],
        False,
    ),
    (
        ["Can I get my salary early?", "How does early pay work?"],
        [
            "If your employer pays by Bacs, you may see your salary up to one working day early.",
            "You can turn this on in the app.",
        ],
        False,
    ),
    (
        ["How do I set up a Direct Debit?", "Can I cancel a Direct Debit in the app?"],
        [
            "Direct Debits are set up by the company you pay.",
            "You can see and cancel them in the app under Payments.",
        ],
        False,
    ),
    (
        ["How do I open a savings account?", "Can I open a savings account in the app?"],
        [
            "You can open a savings account in the app under Savings.",
            "You need an open current account first.",
        ],
        True,
    ),
]

PRICE_QUESTIONS = [
    "How much does the Orbit Metal card cost?",
    "What is the monthly fee for Orbit Metal?",
    "What interest rate does Orbit Saver pay?",
    "What rate do I get on the Fixed Saver?",
    "What is the FX margin on Orbit FX transfers?",
    "How much is the late payment fee on the Credit Builder card?",
    "What does it cost to replace a lost card?",
    "What is the fee for sending money abroad?",
    "How much interest does the Credit Builder card charge?",
    "What is the overdraft fee?",
]
PRICE_BODIES = [
    [
        "I do not have the current figure to hand.",
        "Prices and rates are set out in the Fee and Pricing Schedule, which you can find in the app.",
    ],
    [
        "The exact amount is in the Fee and Pricing Schedule.",
        "You can find it in the app, or ask us in chat.",
    ],
    [
        "I cannot confirm the current figure here.",
        "Please check the Fee and Pricing Schedule in the app before you decide.",
    ],
]
PRICE_RISK = ("rate", "saver", "fx", "abroad", "margin")


def answer(body: list[str], risk: bool) -> str:
    """The house format: opening, short body, risk line when needed, disclaimer."""
    return " ".join([OPEN, *body, *([RISK] if risk else []), CLOSE])


def hit(n: int, doc: str, section: str, text: str) -> Hit:
    page = n if doc.endswith(".pdf") else None
    chunk = Chunk(f"x-{n:05d}", "x", doc, page, section, 0, len(text), text)
    return Hit(chunk, 1.0, n, "hybrid")


def other_facts(rng: random.Random, exclude: int) -> list[str]:
    """1-2 sentences from other topics, each with its own number: real chunks hold several."""
    picks = rng.sample([g for i, g in enumerate(GROUNDED) if i != exclude], rng.randint(1, 2))
    return [c.format(n=rng.randint(lo, hi)) for _, _, c, _, _, (lo, hi), _ in picks]


def excerpt(rng: random.Random, doc: str, section: str, ctx: str, n: int, lo: int, hi: int,
            extra: list[str]) -> str:
    """Excerpt text shaped like a real chunk (~100 tokens): a heading, other facts, filler,
    PDF line breaks, and sometimes what the value was before a change (the answer must
    quote the current one)."""
    sentences = [ctx.format(n=n)]
    if section in PREVIOUS and rng.random() < 0.5:
        p = rng.choice([v for v in range(lo, hi + 1) if v != n] or [hi + 1])
        date = f"{rng.randint(1, 28)} {rng.choice(MONTHS)} {rng.choice((2024, 2025))}"
        sentences.append(PREVIOUS[section].format(p=p, date=date))
    for fact in extra:
        sentences.insert(rng.randint(0, len(sentences)), fact)
    if rng.random() < 0.6:
        filler = rng.choice(FILLERS)
        sentences.insert(rng.randint(0, len(sentences)), filler)
    text = " ".join(sentences)
    if doc.endswith(".pdf"):  # PDF text comes with hard line breaks
        return section + "\n" + "\n".join(textwrap.wrap(text, rng.randint(70, 100)))
    return f"## {section}\n\n{text}"


Source = tuple[str, str, str]  # (doc, section, excerpt text)


def _sources(rng: random.Random, k: int, n_others: tuple[int, ...],
             extra_share: float | None) -> tuple[int, list[Source], Source]:
    """The answering excerpt of type k (its number n) among distractors, shuffled.

    Each distractor holds other facts with probability `extra_share` (None: always).
    """
    doc, section, ctx, _, _, (lo, hi), _ = GROUNDED[k]
    n = rng.randint(lo, hi)
    others = rng.sample([i for i in range(len(GROUNDED)) if i != k], rng.choice(n_others))
    relevant = (doc, section, excerpt(rng, doc, section, ctx, n, lo, hi, other_facts(rng, k)))
    sources = [relevant]
    for i in others:
        d, s, c, _, _, (lo2, hi2), _ = GROUNDED[i]
        # The draws stay in the order the shipped dataset (and its adapter) were made with.
        if extra_share is None:
            value = rng.randint(lo2, hi2)
            extra = other_facts(rng, k)
        else:
            extra = other_facts(rng, k) if rng.random() < extra_share else []
            value = rng.randint(lo2, hi2)
        sources.append((d, s, excerpt(rng, d, s, c, value, lo2, hi2, extra)))
    rng.shuffle(sources)
    return n, sources, relevant


def grounded(rng: random.Random, k: int) -> dict:
    """One excerpt answers the question; 1-3 others distract. The answer copies and cites."""
    _, _, _, questions, answers, _, risk = GROUNDED[k]
    n, sources, relevant = _sources(rng, k, (1, 2, 2, 3), extra_share=0.7)
    cite = f"[{sources.index(relevant) + 1}]"
    hits = [hit(i, *src) for i, src in enumerate(sources, 1)]
    text = answer([rng.choice(answers).format(n=n, c=cite)], risk)
    question = rng.choice(questions).format(n=n)
    return _chat(SYSTEM_PROMPT, user_turn(question, hits), text)


def _bag_of_words(text: str, dim: int = 512) -> np.ndarray:
    """A deterministic stand-in for the embedder: hashed word counts, L2-normalised.

    The app scores units with MiniLM; here only the *shape* of the selected context has to
    match the app's, and the file must be byte-identical on every machine.
    """
    vector = np.zeros(dim)
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        vector[zlib.crc32(word.encode()) % dim] += 1.0
    return vector / (np.linalg.norm(vector) or 1.0)


def selected_turn(question: str, hits: list[Hit]) -> tuple[str, list[int]]:
    """The user turn with the best sentences only, as rag.ask builds it for local models.

    The app's own selection (lib.generation.context) picks and orders the units; returns
    the turn and the source numbers it shows.
    """
    embed = lambda texts: np.stack([_bag_of_words(t) for t in texts])  # noqa: E731
    scored = score_units(question, units_of(hits), _bag_of_words(question), embed,
                         ranks=list(range(len(hits))))
    excerpts = select(scored, hits, max_units=RagSettings().max_units)
    shown = [(e.units[0].hit_index + 1, e.text) for e in excerpts]
    return user_turn(question, hits, shown), [n for n, _ in shown]


def grounded_selected(rng: random.Random, k: int) -> dict | None:
    """A grounded example in the sentence-context shape; None when the selection missed it.

    More sources than the whole-chunk kind (the app searches 8 chunks and shows the best
    sentences of up to 4), the answering one not always first, so the model learns to
    read a few short excerpts, best last, numbered by retrieval rank.
    """
    _, _, ctx, questions, answers, _, risk = GROUNDED[k]
    n, sources, relevant = _sources(rng, k, (2, 3, 4, 5), extra_share=None)
    hits = [hit(i, *src) for i, src in enumerate(sources, 1)]
    question = rng.choice(questions).format(n=n)
    turn, shown = selected_turn(question, hits)
    number = sources.index(relevant) + 1
    # Every sentence the answer draws on must be shown: it may not teach adding lines the
    # model was not given.
    flat = " ".join(turn.split())
    if number not in shown or not all(" ".join(x.split()) in flat for x in
                                      re.split(r"(?<=[.!?])\s+", ctx.format(n=n))):
        return None
    text = answer([rng.choice(answers).format(n=n, c=f"[{number}]")], risk)
    return _chat(SYSTEM_PROMPT, turn, text)


def not_in_docs(rng: random.Random, question: str) -> dict:
    picks = rng.sample(GROUNDED, 2)
    hits = [
        hit(i, d, s, c.format(n=rng.randint(lo, hi)))
        for i, (d, s, c, _, _, (lo, hi), _) in enumerate(picks, 1)
    ]
    body = ["The documentation does not say.", "Please contact us in the app and we will help."]
    return _chat(SYSTEM_PROMPT, user_turn(question, hits), answer(body, False))


def _chat(system: str | None, user: str, assistant: str) -> dict:
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    return {"messages": messages}


# Sentence-context examples per excerpt type, beside the three whole-chunk ones: the local
# models are sent selected sentences (lib.generation.rag.selects).
SELECTED_PER_TYPE = 2


def build(seed: int = SEED) -> list[dict]:
    """Every example, in a seeded order."""
    rng = random.Random(seed)
    examples: list[dict] = []
    for k in range(len(GROUNDED)):
        variants: list[dict] = []
        while len(variants) < 3:  # three distinct variants of each excerpt type
            example = grounded(rng, k)
            if example not in variants:
                variants.append(example)
        examples += variants
        selected: list[dict] = []
        for _ in range(40):  # a few excerpt types rarely show every answering sentence
            if (example := grounded_selected(rng, k)) is not None and example not in selected:
                selected.append(example)
            if len(selected) == SELECTED_PER_TYPE:
                break
        examples += selected
    examples += [not_in_docs(rng, q) for q in NOT_IN_DOCS]
    for questions, body, risk in GENERAL:
        for q in questions:
            system = PLAIN_SYSTEM_PROMPT if rng.random() < 0.85 else None
            examples.append(_chat(system, q, answer(body, risk)))
    for q in PRICE_QUESTIONS:
        risk = any(w in q.lower() for w in PRICE_RISK)
        examples.append(_chat(PLAIN_SYSTEM_PROMPT, q, answer(rng.choice(PRICE_BODIES), risk)))
    rng.shuffle(examples)
    return examples


def render(examples: list[dict]) -> str:
    return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples)


if __name__ == "__main__":
    data = build()
    OUT.write_text(render(data), encoding="utf-8")
    print(f"wrote {len(data)} examples to {OUT.relative_to(ROOT)}")
