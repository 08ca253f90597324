"""Demo shoppers: names, e-mail addresses and shipping addresses, made from a number.

A customer is a pure function of (salt, index), so a repeat order finds its customer's name and
address again without keeping a million customers in memory. E-mail addresses use the domains
reserved for examples (RFC 2606), so no message can reach a real person.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate

D = Decimal
_MASK = (1 << 64) - 1


def mix(value: int) -> int:
    """SplitMix64: a fast, well-spread 64-bit hash of an integer."""
    z = (value + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


@dataclass(frozen=True, slots=True)
class City:
    name: str
    province: str
    province_code: str
    country: str
    country_code: str
    postcode: str  # '#' is a digit, '@' a letter
    tax_rate: Decimal  # percent: combined sales tax (US) or VAT (EU); illustrative demo rates
    weight: int


# Illustrative combined sales-tax rates for demo orders, not a tax table.
US_CITIES = [
    City("New York", "New York", "NY", "United States", "US", "100##", D("8.875"), 14),
    City("Brooklyn", "New York", "NY", "United States", "US", "112##", D("8.875"), 8),
    City("Los Angeles", "California", "CA", "United States", "US", "900##", D("9.5"), 10),
    City("San Francisco", "California", "CA", "United States", "US", "941##", D("8.625"), 6),
    City("San Diego", "California", "CA", "United States", "US", "921##", D("7.75"), 4),
    City("Chicago", "Illinois", "IL", "United States", "US", "606##", D("10.25"), 7),
    City("Houston", "Texas", "TX", "United States", "US", "770##", D("8.25"), 5),
    City("Austin", "Texas", "TX", "United States", "US", "787##", D("8.25"), 4),
    City("Dallas", "Texas", "TX", "United States", "US", "752##", D("8.25"), 4),
    City("Miami", "Florida", "FL", "United States", "US", "331##", D("7.0"), 6),
    City("Tampa", "Florida", "FL", "United States", "US", "336##", D("7.5"), 3),
    City("Seattle", "Washington", "WA", "United States", "US", "981##", D("10.35"), 4),
    City("Portland", "Oregon", "OR", "United States", "US", "972##", D("0"), 3),
    City("Boston", "Massachusetts", "MA", "United States", "US", "021##", D("6.25"), 5),
    City("Philadelphia", "Pennsylvania", "PA", "United States", "US", "191##", D("8.0"), 4),
    City("Atlanta", "Georgia", "GA", "United States", "US", "303##", D("8.9"), 4),
    City("Denver", "Colorado", "CO", "United States", "US", "802##", D("8.81"), 3),
    City("Scottsdale", "Arizona", "AZ", "United States", "US", "852##", D("8.05"), 2),
    City("Nashville", "Tennessee", "TN", "United States", "US", "372##", D("9.25"), 3),
    City("Charlotte", "North Carolina", "NC", "United States", "US", "282##", D("7.25"), 3),
    City("Minneapolis", "Minnesota", "MN", "United States", "US", "554##", D("8.025"), 2),
    City("Hoboken", "New Jersey", "NJ", "United States", "US", "070##", D("6.625"), 3),
    City("Greenwich", "Connecticut", "CT", "United States", "US", "068##", D("6.35"), 2),
    City("Washington", "District of Columbia", "DC", "United States", "US", "200##", D("6.0"), 3),
    City("Wilmington", "Delaware", "DE", "United States", "US", "198##", D("0"), 1),
    City("Honolulu", "Hawaii", "HI", "United States", "US", "968##", D("4.712"), 1),
]
# Shipped abroad duty-unpaid: the shop charges no tax; the buyer pays import charges.
ABROAD_CITIES = [
    City("Toronto", "Ontario", "ON", "Canada", "CA", "M5V #@#", D("0"), 4),
    City("Vancouver", "British Columbia", "BC", "Canada", "CA", "V6B #@#", D("0"), 2),
    City("London", "England", "ENG", "United Kingdom", "GB", "SW1A #@@", D("0"), 3),
    City("Sydney", "New South Wales", "NSW", "Australia", "AU", "20##", D("0"), 1),
]
# Standard VAT rates, included in the price as EU shops show it.
EU_CITIES = [
    City("Berlin", "Berlin", "BE", "Germany", "DE", "10###", D("19"), 8),
    City("München", "Bayern", "BY", "Germany", "DE", "80###", D("19"), 5),
    City("Hamburg", "Hamburg", "HH", "Germany", "DE", "20###", D("19"), 4),
    City("Paris", "Île-de-France", "IDF", "France", "FR", "750##", D("20"), 8),
    City("Lyon", "Auvergne-Rhône-Alpes", "ARA", "France", "FR", "6900#", D("20"), 3),
    City("Amsterdam", "Noord-Holland", "NH", "Netherlands", "NL", "10## @@", D("21"), 6),
    City("Milano", "Lombardia", "MI", "Italy", "IT", "201##", D("22"), 5),
    City("Roma", "Lazio", "RM", "Italy", "IT", "001##", D("22"), 3),
    City("Madrid", "Madrid", "M", "Spain", "ES", "280##", D("21"), 4),
    City("Barcelona", "Catalunya", "B", "Spain", "ES", "080##", D("21"), 3),
    City("Bruxelles", "Bruxelles-Capitale", "BRU", "Belgium", "BE", "10#0", D("21"), 2),
    City("Wien", "Wien", "9", "Austria", "AT", "1###", D("20"), 3),
    City("Dublin", "Dublin", "D", "Ireland", "IE", "D0# @###", D("23"), 2),
    City("København", "Hovedstaden", "84", "Denmark", "DK", "1###", D("25"), 2),
    City("Lisboa", "Lisboa", "11", "Portugal", "PT", "1###-###", D("23"), 2),
]

_STREETS = {
    "US": ["Maple Avenue", "Oak Street", "Park Place", "Hudson Street", "Elm Street", "Cedar Lane",
           "Bleecker Street", "Lakeview Drive", "Magnolia Drive", "Main Street", "Willow Way", "Bay Road",
           "Sunset Boulevard", "Pine Street", "Chestnut Street", "Highland Avenue"],
    "CA": ["King Street West", "Main Street", "Queen Street East"],
    "GB": ["Marylebone High Street", "Kings Road", "Upper Street"],
    "AU": ["George Street", "Crown Street"],
    "DE": ["Hauptstraße", "Lindenallee", "Bergmannstraße", "Schillerstraße"],
    "FR": ["Rue de Rivoli", "Avenue Victor Hugo", "Rue de la Paix", "Rue du Bac"],
    "NL": ["Keizersgracht", "Prinsengracht", "Herengracht"],
    "IT": ["Via Roma", "Via Garibaldi", "Corso Buenos Aires", "Via Dante"],
    "ES": ["Calle Mayor", "Gran Vía", "Calle de Alcalá", "Passeig de Gràcia"],
    "BE": ["Rue Neuve", "Avenue Louise"],
    "AT": ["Mariahilfer Straße", "Kärntner Straße"],
    "IE": ["Grafton Street", "Baggot Street"],
    "DK": ["Nørrebrogade", "Vesterbrogade"],
    "PT": ["Rua Augusta", "Avenida da Liberdade"],
}  # fmt: skip
# House number before the street in these countries; after it elsewhere.
_NUMBER_FIRST = {"US", "CA", "GB", "AU", "FR", "IE"}

# fmt: off
US_FIRST = ["Olivia", "Emma", "Ava", "Sophia", "Isabella", "Mia", "Charlotte", "Amelia", "Harper", "Evelyn",
            "Abigail", "Emily", "Madison", "Chloé", "Grace", "Zoë", "Hannah", "Aaliyah", "Priya", "Mei",
            "Sofia", "Camila", "Nia", "Renée", "Siobhán", "Liam", "Noah", "James", "Benjamin", "Lucas",
            "Henry", "Alexander", "Daniel", "Michael", "Ethan", "Mateo", "José", "Jamal", "Raj", "Kenji",
            "Samuel", "David", "Andrew", "Christopher", "Marcus"]
US_LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
           "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
           "Jackson", "Martin", "Lee", "Pérez", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson",
           "Walker", "Young", "Allen", "King", "Wright", "Scott", "Nguyen", "Hill", "Flores", "Green",
           "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Patel", "Kim",
           "O'Brien", "Bennett", "Rossi", "Cohen", "Okafor", "Tanaka"]
EU_FIRST = ["Emma", "Mia", "Sophie", "Hannah", "Léa", "Chloé", "Camille", "Giulia", "Sofia", "Lucía",
            "Martina", "Julia", "Anna", "Freja", "Inês", "Aoife", "Zoë", "Clara", "Lena", "Amélie",
            "Lukas", "Leon", "Finn", "Jonas", "Hugo", "Louis", "Gabriel", "Lorenzo", "Matteo", "Alejandro",
            "Pablo", "Daan", "Sem", "Noah", "Oscar", "Tomás", "Seán", "Felix", "Elias", "Théo"]
EU_LAST = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Wagner", "Becker", "Martin", "Bernard",
           "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Rossi", "Russo", "Ferrari",
           "Esposito", "Bianchi", "García", "Fernández", "González", "Rodríguez", "López", "de Jong",
           "Jansen", "de Vries", "van den Berg", "Peeters", "Janssens", "Gruber", "Huber", "Murphy",
           "Kelly", "O'Sullivan", "Jensen", "Nielsen", "Silva", "Santos", "Ferreira", "Costa"]
# fmt: on

_DOMAINS = ["example.com", "example.net", "example.org"]


@dataclass(frozen=True, slots=True)
class Person:
    first_name: str
    last_name: str
    email: str
    phone: str
    city: City
    address1: str
    address2: str
    zip: str

    def shipping_address(self) -> dict[str, str | None]:
        """The address as the shop sends it (Shopify's address object)."""
        return {
            "first_name": self.first_name,
            "last_name": self.last_name,
            "name": f"{self.first_name} {self.last_name}",
            "company": None,
            "address1": self.address1,
            "address2": self.address2 or None,
            "city": self.city.name,
            "province": self.city.province,
            "province_code": self.city.province_code,
            "zip": self.zip,
            "country": self.city.country,
            "country_code": self.city.country_code,
            "phone": self.phone or None,
        }


def ascii_fold(text: str) -> str:
    """'Zoë O'Brien' -> 'zoeobrien': the letters an e-mail address keeps of a name."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


class Population:
    """Everyone who might buy from one brand, each a function of their number."""

    def __init__(self, *, salt: int, first: list[str], last: list[str], cities: list[City], abroad: list[City],
                 abroad_share: float, phone_format: str, serial_digits: int) -> None:  # fmt: skip
        self._salt = salt
        self._first = first
        self._last = last
        self._cities = cities + abroad
        domestic = sum(c.weight for c in cities)
        # Integer weights scaled so abroad_share of people live abroad.
        scale_abroad = round(domestic * abroad_share / (1 - abroad_share)) if abroad else 0
        abroad_total = sum(c.weight for c in abroad) or 1
        weights = [c.weight * abroad_total for c in cities] + [c.weight * scale_abroad for c in abroad]
        self._cum = list(accumulate(weights))
        self._phone = phone_format
        self._folded = {name: ascii_fold(name) for name in first + last}
        # A number spread over this many digits makes every address unique without looking sequential.
        self._modulus = 10**serial_digits

    def person(self, index: int) -> Person:
        h = mix(self._salt ^ (index * 0x2545F4914F6CDD1D & _MASK))
        where = mix(h ^ 0x5851F42D4C957F2D)  # a second draw: one 64-bit hash is not enough bits
        first = self._first[h % len(self._first)]
        h //= len(self._first)
        last = self._last[h % len(self._last)]
        h //= len(self._last)
        city = self._cities[bisect_right(self._cum, h % self._cum[-1])]
        h //= self._cum[-1]
        # 7919 is prime, so index -> tag is one-to-one below the modulus: every address differs.
        tag = (index * 7919 + 104_729) % self._modulus
        f, l_ = self._folded[first], self._folded[last]
        local = (f"{f}.{l_}{tag}", f"{f}{l_}{tag}", f"{f[0]}{l_}{tag}", f"{f}_{l_}{tag}")[h % 4]
        h //= 4
        domain = _DOMAINS[h % len(_DOMAINS)]
        street = _STREETS[city.country_code]
        name = street[where % len(street)]
        where //= len(street)
        number = 1 + where % 480
        where //= 480
        address1 = f"{number} {name}" if city.country_code in _NUMBER_FIRST else f"{name} {number}"
        apartment = where % 150
        where //= 150
        address2 = (
            f"Apt {1 + apartment % 30}{'ABCDE'[apartment // 30]}"
            if apartment < 30 and city.country_code == "US"
            else ""
        )
        phone = self._phone.format(where % 100) if city.country_code == "US" and where % 300 >= 100 else ""
        where //= 300
        return Person(
            first_name=first,
            last_name=last,
            email=f"{local}@{domain}",
            phone=phone,
            city=city,
            address1=address1,
            address2=address2,
            zip=_postcode(city.postcode, where),
        )


def _postcode(pattern: str, h: int) -> str:
    out = []
    for ch in pattern:
        if ch == "#":
            out.append(str(h % 10))
            h //= 10
        elif ch == "@":
            out.append("ABCDEFGHJKLMNPRSTUVWXYZ"[h % 23])
            h //= 23
        else:
            out.append(ch)
    return "".join(out)
