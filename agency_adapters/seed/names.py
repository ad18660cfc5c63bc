"""Name pools for the synthetic population (Faker en_GB plus the names of children born since 2008).

Faker's en_GB first names are those of today's adults; children get names from
the lists of popular baby names in England and Wales of their birth years, with
some names from the communities of a large English city. A few carry diacritics
(Zoë, Siân) so that normalisation is exercised by the demo data.
"""

from __future__ import annotations

from dataclasses import dataclass

from faker import Faker

from mash.errors import present


def _words(text: str) -> tuple[str, ...]:
    """The words of a space-separated list."""
    return tuple(text.split())


CHILD_GIRLS = _words(
    "Olivia Amelia Isla Ava Mia Ivy Lily Isabella Rosie Sophia Grace Freya Willow Florence Emily "
    "Ella Poppy Evie Elsie Charlotte Evelyn Sienna Sofia Daisy Phoebe Sophie Alice Harper Matilda "
    "Ruby Emilia Maya Millie Isabelle Erin Esme Luna Jessica Chloe Ellie Holly Lucy Megan Amber "
    "Scarlett Lola Imogen Leah Layla Eva Niamh Aisha Maryam Fatima Zainab Hafsa Amira Hannah "
    "Zoë Chloë Siân Nevaeh Kacey Kayleigh Tia Demi Jade Courtney Paige Keira Summer Caitlin "
    "Maisie Bethany Abigail Madison Harriet Gracie Lexi Skye Darcie Thea Iris Mila Aria Hallie"
)
CHILD_BOYS = _words(
    "Muhammad Noah Oliver George Leo Arthur Oscar Harry Archie Jack Henry Charlie Freddie Theodore "
    "Theo Thomas Finley Teddy Alfie Jacob William Lucas Tommy Isaac Roman Edward Reuben Jaxon "
    "Albert Joshua Ethan Mason Logan Riley James Samuel Daniel Joseph Dylan Kian Tyler Callum "
    "Kai Liam Aaron Alexander Benjamin Harrison Max Toby Louie Jenson Ryan Zachary Adam Yusuf "
    "Ibrahim Ayaan Rayyan Musa Hamza Omar Ali Zayn Bilal Jakub Filip Kacper Seán Connor Brandon "
    "Jayden Aiden Kyle Ellis Frankie Bobby Stanley Ronnie Hugo Elijah Rory Ezra Finn Jude Kayden"
)
EXTRA_ADULT_WOMEN = _words("Nasreen Shazia Samina Parveen Agnieszka Katarzyna Magdalena Amina "
                           "Grace Blessing Chantelle Leanne Kerry Stacey Donna Tracey "
                           "Siobhan Renée")
EXTRA_ADULT_MEN = _words("Imran Tariq Asif Khalid Mohammed Piotr Tomasz Marek Kwame Emeka Abdi "
                   "Wayne Darren Craig Dean Shane Lee Jamie Ashley")
EXTRA_SURNAMES = _words("Khan Hussain Ahmed Ali Akhtar Iqbal Mahmood Rashid Begum Bibi Patel Nowak "
                  "Kowalski Wiśniewski Mensah Okafor Abdi Mohamed Osman Nguyen O'Brien O'Neill "
                  "McDonald McKenzie D'Souza")
# Surnames that cannot be a woman's own (family naming convention differs).
FEMALE_ONLY_SURNAMES = frozenset({"Begum", "Bibi"})


@dataclass(frozen=True)
class NamePools:
    """Given names by sex and generation, and surnames, each as (names, cumulative weights)."""

    adult_female: tuple[str, ...]
    adult_male: tuple[str, ...]
    child_female: tuple[str, ...]
    child_male: tuple[str, ...]
    surnames: tuple[str, ...]
    surname_weights: tuple[float, ...]


def build_pools(seed: int) -> NamePools:
    """Deterministic name pools for `seed` (Faker en_GB, seeded)."""
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    person = present(fake.provider("faker.providers.person"), "Faker's person provider")
    women = tuple(person.first_names_female) + tuple(EXTRA_ADULT_WOMEN)
    men = tuple(person.first_names_male) + tuple(EXTRA_ADULT_MEN)
    extra = tuple(s for s in EXTRA_SURNAMES if s not in FEMALE_ONLY_SURNAMES)
    surnames = tuple(person.last_names) + extra
    weights = tuple(person.last_names.values()) + (0.12,) * len(extra)
    return NamePools(women, men, tuple(CHILD_GIRLS), tuple(CHILD_BOYS), surnames, weights)
