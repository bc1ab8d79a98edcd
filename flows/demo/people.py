"""The people directory of Acme Cloud: ~150 humans in eight product teams plus QA and security,
service accounts and one shared account."""
from __future__ import annotations

import random

from flows.demo.clock import Ids
from flows.demo.model import Person

DOMAIN = "acme.example"
ROLES = ("engineer", "senior_engineer", "eng_lead", "qa", "ciso", "security")
TEAMS = ("payments", "ledger", "identity", "web", "platform", "data", "growth", "mobile")

_FIRST = (
    "Aisha Alan Amara Ana Andrei Anika Arjun Beatriz Ben Bilal Camille Carlos Chen Chloe Daniel "
    "Dara Diego Elena Elif Emma Farah Felix Fatima Gabriel Grace Hana Hugo Ines Isaac Ivan Jamal "
    "Jana Javier Jin Joao Julia Kai Karim Kenji Lara Leila Liam Lina Lucas Maya Mateo Mei Mila "
    "Nadia Nikhil Noah Nora Olga Omar Oscar Priya Rafael Rania Ravi Rosa Sami Sara Sofia Tariq "
    "Theo Tomas Uma Valentina Victor Wei Yara Yusuf Zoe"
).split()
_LAST = (
    "Abara Adeyemi Alvarez Andersen Bauer Becker Bianchi Brennan Castillo Chen Costa Dubois "
    "Eriksen Fischer Fonseca Garcia Goldberg Haddad Hansen Hoffmann Ibrahim Ito Jansen Kaur "
    "Kowalski Kumar Larsen Lefebvre Lindqvist Lopez Marino Mendes Moreau Murphy Nakamura Novak "
    "Okafor Olsen Park Patel Petrov Quinn Rahman Reyes Rossi Sato Schmidt Silva Singh Sokolov "
    "Suzuki Tanaka Torres Valdez Varga Wagner Weber Yilmaz Zhang Zimmermann"
).split()


class Directory:
    def __init__(self, people: list[Person]):
        self.people = people
        self.by_login = {p.github_login: p for p in people if p.github_login}
        self.by_id = {p.person_id: p for p in people}
        self._teams: dict[tuple, list[Person]] = {}

    def team(self, team: str, *roles: str) -> list[Person]:
        key = (team, roles)
        if key not in self._teams:
            self._teams[key] = [p for p in self.people if p.team == team and p.kind == "human"
                                and (not roles or any(r in p.roles for r in roles))]
        return self._teams[key]

    def with_role(self, role: str) -> list[Person]:
        return [p for p in self.people if role in p.roles and p.kind == "human"]

    def lead(self, team: str) -> Person:
        return self.team(team, "eng_lead")[0]

    @property
    def ciso(self) -> Person:
        return self.with_role("ciso")[0]

    def login(self, login: str) -> Person:
        return self.by_login[login]


def build_people(rng: random.Random, ids: Ids) -> Directory:
    names = [(f, l) for f in _FIRST for l in _LAST]
    rng.shuffle(names)
    used_logins: set[str] = set()
    people: list[Person] = []

    def human(roles: tuple[str, ...], team: str) -> Person:
        first, last = names.pop()
        style = rng.random()
        if style < 0.4:
            login = f"{first[0]}{last}".lower()
        elif style < 0.75:
            login = f"{first}-{last}".lower()
        else:
            login = f"{first}{last[:3]}{rng.randint(1, 99)}".lower()
        while login in used_logins:
            login += str(rng.randint(0, 9))
        used_logins.add(login)
        number = len(people) + 1
        person = Person(
            person_id=f"P{number:04d}", name=f"{first} {last}",
            email=f"{first}.{last}@{DOMAIN}".lower(), github_login=login,
            github_id=rng.randint(1_200_000, 160_000_000), sn_sys_id=ids.sys_id(),
            pd_id=ids.upper("P", 6), roles=roles, team=team, kind="human",
            user_name=f"{first}.{last}".lower(),
        )
        people.append(person)
        return person

    sizes = [19, 17, 18, 19, 18, 16, 15, 15]
    for team, size in zip(TEAMS, sizes):
        human(("eng_lead",), team)
        for _ in range(4):
            human(("senior_engineer",), team)
        for _ in range(size - 5):
            human(("engineer",), team)
    human(("qa", "eng_lead"), "quality")        # head of QA: both roles, one person
    for _ in range(5):
        human(("qa",), "quality")
    human(("ciso",), "security")
    human(("security",), "security")
    human(("security", "senior_engineer"), "security")

    def account(login: str, name: str, gh_id: int, gh_type: str, kind: str, number: int) -> None:
        people.append(Person(
            person_id=f"S{number:04d}", name=name, email=f"{login.split('[')[0]}@{DOMAIN}",
            github_login=login, github_id=gh_id, sn_sys_id="", pd_id="", roles=(),
            team="platform", kind=kind, gh_type=gh_type,
        ))

    account("github-actions[bot]", "GitHub Actions", 41898282, "Bot", "service", 1)
    account("deploy-bot", "Deploy Bot", 128_734_001, "User", "service", 2)
    account("renovate[bot]", "Renovate Bot", 29139614, "Bot", "service", 3)
    account("ops-shared", "Operations (shared)", 98_120_440, "User", "shared", 4)
    return Directory(people)


def people_rows(people: list[Person]) -> list[list[str]]:
    """people.csv rows (header: person_id,name,email,github_login,servicenow_user_sys_id,
    pagerduty_user_id,roles,team,kind); roles are ';'-separated."""
    return [[p.person_id, p.name, p.email, p.github_login, p.sn_sys_id, p.pd_id,
             ";".join(p.roles), p.team, p.kind] for p in people]


def bad_people_row(rng: random.Random, ids: Ids) -> list[str]:
    """One row the people extractor must quarantine (EV-03): a role outside the vocabulary.
    Nobody references this person anywhere in the sample."""
    return ["P0999", "Quinn Placeholder", f"quinn.placeholder@{DOMAIN}", "qplaceholder-tmp",
            ids.sys_id(), "", "chief_vibes_officer", "growth", "human"]
