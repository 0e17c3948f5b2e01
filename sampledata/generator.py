"""Deterministic generator of realistic scraper inbox files.

Writes one JSONL file per store and day, named ``{company}-{store-slug}-{YYYY-MM-DD}.jsonl``; every line is
``{"product": {...}, "metadata": {...}}`` with the keys of the real scrapes (docs: domain.md, section 2).

How it stays deterministic and lean at 10^6 products:

- Every value is a pure function of (seed, product index, company, store, day): product *i* is rebuilt on
  demand from its own ``random.Random`` (static attributes) and from 64-bit hashes (daily events), so no
  catalog is ever held in memory and no global random state or clock is consulted.
- The output streams: days are generated one after the other, and within a day the products are walked
  once while every store file of that day is open, so each product is built once per day and each line is
  written as soon as it is serialised.

Traits the update pipeline has to cope with are injected at the rates of the ``*_RATE`` constants below:
the same SKU under two NNBS in one file, specials, lines crossing midnight, non-ASCII brands, barcodes
shared between companies. How much a later day differs from the day before (prices, NNBS spelling drift
with stable SKUs, products appearing and disappearing) is a ``ChangeRates``: ``REAL_RATES`` by default,
what the real files show, or the ``HIGH_CHURN`` workload the benchmark used before issue 20.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import random
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import orjson

# --------------------------------------------------------------------------------------------------------
# Rates of the injected traits (per product, company, store or day as noted)
# --------------------------------------------------------------------------------------------------------

BARCODE_RATE = 0.80  # products with an EAN-13; every barcode-carrying company prints the same one
LIFECYCLE_HORIZON = 14  # launch and delist days fall within this many days of the start
DUPLICATE_SKU_RATE = 0.002  # per product, company and day: an extra line, same SKU, mis-parsed brand
MIDNIGHT_TAIL = 0.02  # last share of a late-scraping store's file that is stamped with the next day
STORE_RANGE = (0.85, 0.95)  # share of its company's range that a store lists
WHOLE_PRICE_RATE = 0.06  # shelf prices on a whole dollar (IGA-style files print them as ints)



@dataclass(frozen=True)
class ChangeRates:
    """How much each later day changes: the chance of each kind of change the generator makes."""

    name: str
    price: float  # per product, company and later day: its price changes (new shelf price, special starts or ends)
    nnbs_drift: float  # per product and later day: the NNBS spelling flips to/from its other generation
    launch: float  # share of the products first listed on a later day (new products)
    delist: float  # share of the products gone from a later day on (delisted)
    outage: float  # per product, store and day: missing from that day's scrape (out of stock, not listed)

    def __post_init__(self):
        for field in ("price", "nnbs_drift", "launch", "delist", "outage"):
            if not 0 <= getattr(self, field) <= 1:
                raise ValueError(f"the {field} change rate must be a share between 0 and 1 (0.01 is 1%), "
                                 f"got {getattr(self, field)}")
        if self.launch + self.delist > 1:
            raise ValueError("the launch and delist rates must add up to at most 1")


# What the real files show (measured on two Aldi stores' scrapes 3 days apart, 2,602 lines each, by SKU:
# 4 prices changed, 2 NNBS respelled, 19 lines new and 25 gone; divided by 3 for a day), at the upper end
# of domain.md section 6's "prices move 0-0.04% a day". About 99% of a store's lines are the same a day later.
REAL_RATES = ChangeRates("real", price=0.0004, nnbs_drift=0.0003, launch=0.01, delist=0.01, outage=0.002)
# The benchmark's workload before issue 20: 7.7% of the prices change every day, about 100x the real rate
# (a change redraws the price and the special, which leaves about 1 in 16 as they were: hence 8.2%).
HIGH_CHURN = ChangeRates("high-churn", price=0.082, nnbs_drift=0.05, launch=0.01, delist=0.01, outage=0.015)
CHANGE_RATES = {rates.name: rates for rates in (REAL_RATES, HIGH_CHURN)}


def change_rates(workload: str = REAL_RATES.name, **overrides: float | None) -> ChangeRates:
    """A named workload's rates, with any of them overridden (``price=0.01``); named "custom" if one is."""
    if workload not in CHANGE_RATES:
        raise ValueError(f"unknown change-rate workload {workload!r}; known: {', '.join(CHANGE_RATES)}")
    given = {name: value for name, value in overrides.items() if value is not None}
    if not given:
        return CHANGE_RATES[workload]
    return dataclasses.replace(CHANGE_RATES[workload], name="custom", **given)

MAX_PRODUCTS = 108 ** 3  # capacity of the unique product-line words, see _line_word()
DEFAULT_COMPANIES = ("aldi", "iga", "coles")
DEFAULT_START_DATE = dt.date(2025, 9, 1)

# Tokens added to a brand when the "scraper" mis-parses it; no vocabulary word may contain them, so the
# mis-parsed NNBS always differs from the product's own NNBS.
MISPARSE_SUFFIX = "Imports Pty Ltd"

# The letter that ends, and only ends, every product-line word: see _line_word() for why NNBS are unique.
LINE_MARKER = "x"

_MASK64 = (1 << 64) - 1
_TO_UNIT = 1.0 / (1 << 64)

# Hash salts, one per independent decision, so that two decisions about the same product never correlate.
(_S_PRODUCT, _S_CARRY, _S_STORE, _S_OUTAGE, _S_PRICE, _S_PRICE_LEVEL, _S_COMPANY_PRICE, _S_SPECIAL,
 _S_SPECIAL_PHASE, _S_DISCOUNT, _S_DRIFT, _S_DUPLICATE, _S_LIFECYCLE) = range(1, 14)  # _S_SPECIAL_PHASE is no longer drawn


# --------------------------------------------------------------------------------------------------------
# Hashing: cheap, stateless, reproducible randomness for per-day events
# --------------------------------------------------------------------------------------------------------

def _mix(x: int) -> int:
    """splitmix64 finaliser: a fast 64-bit bijection with good avalanche."""
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def _hash(*parts: int) -> int:
    h = 0x9E3779B97F4A7C15
    for part in parts:
        h = _mix(h ^ (part & _MASK64))
    return h


def _unit(*parts: int) -> float:
    """A uniform float in [0, 1) determined by ``parts``."""
    return _hash(*parts) * _TO_UNIT


@functools.lru_cache(maxsize=1 << 14)
def _salt(*parts: int) -> int:
    """The hash of a decision's identity (purpose, company, day...): few distinct ones, so cached."""
    return _hash(*parts)


def _draw(key: int, salt: int) -> int:
    """A 64-bit draw for an already well-mixed ``key`` and a decision ``salt``: one mixing round, because
    this runs several times per product and line and dominates the generator's time otherwise."""
    return _mix(key ^ salt)


def _chance(key: int, salt: int) -> float:
    """A uniform float in [0, 1) for ``key`` and decision ``salt``."""
    return _mix(key ^ salt) * _TO_UNIT


# --------------------------------------------------------------------------------------------------------
# Text normalisation, as the scrapers do it: ASCII-folded lower-case alphanumeric tokens
# --------------------------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(r"[a-z0-9]+")


@functools.lru_cache(maxsize=1 << 16)
def tokens(text: str) -> tuple[str, ...]:
    """Lower-case ASCII tokens of ``text``; accents are folded ("Nestlé" -> nestle), other scripts dropped."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    # Decimal points are dropped rather than split on, like the scrapers' "0.5kg" -> "05kg".
    return tuple(_TOKEN_RE.findall(folded.replace(".", "")))


def _normalized_brand(brand: str) -> str:
    # The scrapers' normalized_brand is the brand's sorted tokens run together ("broadfarmsoak").
    return "".join(sorted(set(tokens(brand))))


# --------------------------------------------------------------------------------------------------------
# Fixed vocabulary: a realistic taxonomy shared by all products, so categories repeat across the catalog
# --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Leaf:
    """A leaf of the category taxonomy and what the products filed under it look like."""

    path: tuple[str, ...]  # root to leaf, 1 to 4 names
    kind: str  # size kind, a key of _SIZES
    price_per_unit: tuple[float, float]  # dollars per kg, l or item, low..high
    nouns: tuple[str, ...]
    variants: tuple[str, ...] = ()
    branded: bool = True  # loose produce is mostly sold without a brand


TAXONOMY: tuple[Leaf, ...] = (
    Leaf(("Seasonal",), "g", (12, 40), ("Advent Calendar", "Gingerbread Men", "Easter Eggs",
                                        "Christmas Pudding", "Fruit Mince Pies", "Candy Canes")),
    Leaf(("Front Of Store",), "ea", (0.5, 15), ("Cooler Bag", "Trolley Token Key Ring", "Shopping Bag",
                                                "Gift Card Holder", "Lunch Bag")),
    Leaf(("Fruit & Vegetables", "Fresh Fruit"), "g", (3, 14),
         ("Bananas", "Royal Gala Apples", "Pink Lady Apples", "Brown Pears", "Navel Oranges", "Mandarins",
          "Kiwifruit", "Mangoes", "Blueberries", "Strawberries", "Avocados", "Lemons"), branded=False),
    Leaf(("Fruit & Vegetables", "Fresh Vegetables"), "g", (2, 12),
         ("Brown Onions", "White Potatoes", "Sweet Corn", "Carrots", "Broccoli", "Cup Mushrooms",
          "Tomatoes", "Baby Spinach", "Cos Lettuce", "Zucchini", "Red Capsicum", "Cucumber"),
         branded=False),
    Leaf(("Meat & Seafood", "Poultry"), "kg", (8, 25),
         ("Chicken Breast Fillets", "Chicken Drumsticks", "Chicken Thigh Fillets", "Whole Chicken",
          "Chicken Wings", "Turkey Breast"), ("Free Range", "Marinated", "Skin On", "Bulk Pack")),
    Leaf(("Meat & Seafood", "Beef & Lamb"), "g", (15, 45),
         ("Beef Mince", "Rump Steak", "Scotch Fillet", "Lamb Cutlets", "Lamb Leg Roast", "Diced Beef",
          "Beef Sausages"), ("Grass Fed", "Premium", "Lean", "Family Pack")),
    Leaf(("Meat & Seafood", "Seafood", "Fresh Fish"), "g", (20, 50),
         ("Salmon Fillets", "Barramundi Fillets", "Tuna Steaks", "Snapper Fillets", "Tiger Prawns",
          "Calamari Rings"), ("Skin On", "Skinless", "Wild Caught", "Lemon Pepper")),
    Leaf(("Dairy, Eggs & Fridge", "Milk"), "l", (1.5, 4.5),
         ("Full Cream Milk", "Lite Milk", "Skim Milk", "Lactose Free Milk", "Almond Milk", "Oat Milk",
          "Soy Milk"), ("Barista", "Unsweetened", "Long Life")),
    Leaf(("Dairy, Eggs & Fridge", "Cheese", "Block Cheese"), "g", (10, 30),
         ("Tasty Cheese", "Colby Cheese", "Vintage Cheddar", "Mozzarella", "Swiss Cheese", "Edam",
          "Gruyère"), ("Sliced", "Shredded", "Block")),
    Leaf(("Dairy, Eggs & Fridge", "Yoghurt"), "g", (4, 14),
         ("Greek Yoghurt", "Natural Yoghurt", "Yoghurt Pouches", "Custard", "Dessert Pots"),
         ("Vanilla", "Strawberry", "Mango", "Passionfruit", "Honey", "Blueberry", "Coconut",
          "Crème Brûlée")),
    Leaf(("Dairy, Eggs & Fridge", "Eggs"), "pk", (0.4, 1.0),
         ("Free Range Eggs", "Cage Free Eggs", "Barn Laid Eggs", "Organic Eggs"), ("Large", "Jumbo")),
    Leaf(("Bakery", "Bread"), "g", (4, 12),
         ("White Bread", "Wholemeal Bread", "Sourdough Loaf", "Multigrain Bread", "Raisin Toast",
          "Bread Rolls", "Wraps"), ("Thick Sliced", "Toast Sliced", "Seeded", "High Fibre")),
    Leaf(("Bakery", "Cakes & Desserts"), "g", (8, 25),
         ("Mud Cake", "Carrot Cake", "Lamingtons", "Cheesecake", "Croissants", "Donuts", "Muffins"),
         ("Chocolate", "Caramel", "Blueberry", "Lemon", "Raspberry")),
    Leaf(("Pantry", "Breakfast Cereals"), "g", (6, 20),
         ("Corn Flakes", "Rolled Oats", "Muesli", "Wheat Biscuits", "Granola", "Puffed Rice",
          "Bran Flakes"), ("Honey", "Fruit & Nut", "Toasted", "Low Sugar")),
    Leaf(("Pantry", "Pasta, Rice & Grains", "Pasta"), "g", (2, 10),
         ("Spaghetti", "Penne", "Fettuccine", "Fusilli", "Lasagne Sheets", "Macaroni", "Gnocchi"),
         ("Wholemeal", "Gluten Free", "Egg")),
    Leaf(("Pantry", "Pasta, Rice & Grains", "Rice"), "kg", (2, 8),
         ("Jasmine Rice", "Basmati Rice", "Long Grain Rice", "Arborio Rice", "Brown Rice", "Sushi Rice")),
    Leaf(("Pantry", "Condiments & Sauces", "Herbs & Spices"), "g", (40, 180),
         ("Garlic Salt", "Ground Cinnamon", "Ground Cumin", "Smoked Paprika", "Dried Oregano",
          "Cayenne Pepper", "Black Pepper", "Chilli Flakes", "Jalapeño Seasoning")),
    Leaf(("Pantry", "Condiments & Sauces", "Sauces"), "ml", (3, 12),
         ("Tomato Sauce", "Barbecue Sauce", "Sweet Chilli Sauce", "Soy Sauce", "Worcestershire Sauce",
          "Mayonnaise", "Aioli"), ("Reduced Salt", "Squeeze", "Smoky")),
    Leaf(("Pantry", "Canned Food", "Canned Fish"), "g", (8, 30),
         ("Tuna in Springwater", "Tuna in Olive Oil", "Pink Salmon", "Sardines", "Mackerel Fillets"),
         ("Lemon Pepper", "Chilli", "Tomato & Basil")),
    Leaf(("Pantry", "Canned Food", "Canned Vegetables"), "g", (2, 8),
         ("Diced Tomatoes", "Chickpeas", "Four Bean Salad", "Corn Kernels", "Baked Beans", "Lentils",
          "Beetroot Slices"), ("No Added Salt", "Organic")),
    Leaf(("Pantry", "Baking"), "kg", (1, 6),
         ("Plain Flour", "Self Raising Flour", "White Sugar", "Brown Sugar", "Icing Sugar", "Caster Sugar")),
    Leaf(("Snacks & Confectionery", "Chocolate"), "g", (10, 40),
         ("Milk Chocolate Block", "Dark Chocolate", "Mint Thins", "Chocolate Waves", "Hazelnut Bar",
          "Caramel Bites"), ("Mint", "Hazelnut", "Caramel", "Orange", "Raspberry", "Salted Caramel",
                             "Almond", "Café Latte")),
    Leaf(("Snacks & Confectionery", "Chips & Crackers", "Chips"), "g", (10, 30),
         ("Potato Chips", "Crinkle Cut Chips", "Kettle Chips", "Corn Chips", "Rice Crackers", "Pretzels"),
         ("Sea Salt", "Salt & Vinegar", "Chicken", "Sour Cream & Chives", "Barbecue", "Cheese & Onion")),
    Leaf(("Snacks & Confectionery", "Biscuits"), "g", (6, 25),
         ("Shortbread", "Chocolate Chip Cookies", "Chocolate Wafers", "Cream Biscuits", "Digestives",
          "Anzac Biscuits", "Scotch Finger"), ("Butter", "Coconut", "Chocolate Coated")),
    Leaf(("Drinks", "Soft Drinks"), "l", (1, 5),
         ("Cola", "Lemonade", "Ginger Beer", "Orange Juice", "Apple Juice", "Iced Tea"),
         ("Sugar Free", "Zero", "Sparkling", "Peach")),
    Leaf(("Drinks", "Water"), "l", (0.3, 3),
         ("Spring Water", "Sparkling Mineral Water", "Flavoured Water", "Coconut Water"),
         ("Lime", "Lemon", "Berry")),
    Leaf(("Drinks", "Tea & Coffee", "Coffee"), "g", (20, 80),
         ("Instant Coffee", "Ground Coffee", "Coffee Beans", "Coffee Capsules"),
         ("Espresso", "Decaf", "Dark Roast", "Café Crema")),
    Leaf(("Drinks", "Tea & Coffee", "Tea"), "pk", (0.05, 0.3),
         ("Black Tea Bags", "Green Tea", "Chamomile Tea", "Peppermint Tea", "Earl Grey Tea")),
    Leaf(("Frozen", "Ice Cream"), "l", (3, 12),
         ("Vanilla Ice Cream", "Gelato", "Ice Cream Cones", "Sorbet", "Frozen Yoghurt"),
         ("Cookies & Cream", "Mango", "Chocolate", "Rosé Sorbet")),
    Leaf(("Frozen", "Frozen Meals"), "g", (8, 25),
         ("Beef Lasagne", "Chicken Curry", "Fried Rice", "Pork Dumplings", "Spring Rolls", "Pizza"),
         ("Family Size", "Spicy", "Vegetarian")),
    Leaf(("Frozen", "Frozen Vegetables"), "kg", (2, 8),
         ("Garden Peas", "Garden Vegetables", "Stir Fry Vegetables", "Sweet Potato Chips", "Broccoli Florets",
          "Corn Cobs")),
    Leaf(("Household", "Cleaning", "Laundry"), "l", (3, 12),
         ("Laundry Liquid", "Fabric Softener", "Stain Remover", "Dishwashing Liquid", "Surface Spray"),
         ("Sensitive", "Lavender", "Eucalyptus", "Fresh Linen")),
    Leaf(("Household", "Cleaning", "Kitchen", "Dishwasher Tablets"), "pk", (0.15, 0.6),
         ("Dishwasher Tablets", "Dishwasher Capsules", "Rinse Aid Pods"), ("Lemon", "All In One")),
    Leaf(("Household", "Paper Goods"), "pk", (0.3, 1.5),
         ("Toilet Paper", "Paper Towel", "Facial Tissues", "Serviettes"), ("Soft", "Quilted", "Recycled")),
    Leaf(("Health & Beauty", "Personal Care", "Oral Care", "Toothpaste"), "g", (20, 60),
         ("Toothpaste", "Whitening Toothpaste", "Kids Toothpaste"), ("Fresh Mint", "Sensitive")),
    Leaf(("Health & Beauty", "Personal Care", "Hair Care", "Shampoo"), "ml", (8, 30),
         ("Shampoo", "Conditioner", "Dry Shampoo", "Hair Mask"), ("Argan Oil", "Volume", "Repair")),
    Leaf(("Health & Beauty", "Personal Care", "Body Care"), "ml", (6, 25),
         ("Shower Gel", "Body Wash", "Hand Wash", "Body Lotion", "Deodorant"),
         ("Cucumber & Green Tea", "Coconut", "Aloe Vera")),
    Leaf(("Baby", "Nappies & Wipes"), "pk", (0.1, 0.8), ("Nappies", "Baby Wipes", "Nappy Pants"),
         ("Newborn", "Crawler", "Walker", "Junior")),
    Leaf(("Pet", "Cat", "Cat Food"), "g", (6, 25),
         ("Cat Food Pouches", "Dry Cat Food", "Cat Treats"), ("Chicken", "Tuna", "Salmon", "Beef")),
    Leaf(("Pet", "Dog", "Dog Food"), "kg", (3, 15),
         ("Dry Dog Food", "Dog Treats", "Dog Rolls"), ("Chicken", "Beef", "Lamb & Rice")),
    Leaf(("Liquor", "Wine", "Red Wine"), "ml", (10, 60),
         ("Shiraz", "Cabernet Sauvignon", "Merlot", "Pinot Noir", "Grenache"),
         ("Barossa Valley", "McLaren Vale", "Margaret River", "Coonawarra")),
    Leaf(("Liquor", "Beer"), "pk", (1.5, 4), ("Lager", "Pale Ale", "Pilsner", "Stout", "Draught"),
         ("Cans", "Stubbies", "Mid Strength")),
)

ADJECTIVES = ("Classic", "Original", "Premium", "Light", "Organic", "Homestyle", "Select", "Traditional",
              "Gourmet", "Family", "Value", "Finest", "Natural", "Signature", "Delightful", "Golden")

# Brands of the first brand indices. Some are non-ASCII on purpose: accented, and scripts the normaliser
# drops entirely, which gives an empty normalized_brand like the real files.
FIXED_BRANDS = (
    "Berg", "Hillcrest", "Broad Oak Farms", "Choceur", "MasterFoods", "ZoOSh", "Community Co", "Nestlé",
    "Ready, Set…Cook!", "Belmont Biscuit Co.", "Farmdale", "Westacre", "Ironbark Pork", "Remano",
    "Sanipet", "Portview", "Baker's Life", "Just Organic", "Colway", "Dentitine", "Juliet", "Moser Roth",
    "Crofton", "Ocean Rise", "Brooklea", "Specially Selected", "Müller", "Le Château", "Ōra Valley",
    "李锦记", "Ｐ＆Ｇジャパン（同）", "Golden Vale", "Kirkland Park", "Sunvale", "Coastal Harvest",
    "Blackwood Dairy", "Red Gum", "Tasman Bay", "Outback Spirit", "Marigold Kitchen",
)
# Brand printed for unbranded produce by one of the scrapers (verbatim from the real IGA file).
JUNK_PRODUCE_BRAND = "舒适刀片(广州)有限公司"
BRAND_SUFFIXES = ("Foods", "Farms", "Co.", "& Sons", "Kitchen", "Dairy", "Bakery", "Organics", "Gourmet",
                  "Provisions", "Pantry", "Brewing", "Naturals", "Fine Foods")
CJK_BRANDS = ("李锦记", "康师傅", "农心", "日清食品", "统一企业")
ACCENTS = {"a": "á", "e": "é", "i": "í", "o": "ô", "u": "ü"}

DESCRIPTIONS = (
    "A pantry favourite for the whole family.",
    "Quality you can trust at a great price.",
    "Perfect for quick weeknight meals and lunchboxes.",
    "Sourced from trusted Australian growers and suppliers.",
    "Store in a cool, dry place. Refrigerate after opening.",
)

# Syllables of the invented product-line and brand words: 18 consonants x 6 vowels = 108 syllables,
# deliberately without the LINE_MARKER letter.
_CONSONANTS = "bcdfghjklmnprstvwz"
_VOWELS = "aeiouy"
SYLLABLES = tuple(c + v for c in _CONSONANTS for v in _VOWELS)


# --------------------------------------------------------------------------------------------------------
# Sizes: a small fixed set, precomputed once so building a product costs no string work for its size
# --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Size:
    kind: str
    quantity: float  # in the kind's unit
    compact: str  # "500g", "1.25l", "6pk"
    base_units: float  # quantity in g, ml or items, for unit pricing
    packed_tokens: tuple[str, ...]  # NNBS tokens as first spelled ("2kg")
    base_tokens: tuple[str, ...]  # NNBS tokens in base units ("2000g"), the other spelling of kg and l

    @property
    def has_base_spelling(self) -> bool:
        return self.packed_tokens != self.base_tokens


def _fmt_qty(q: float) -> str:
    return str(int(q)) if q == int(q) else f"{q:g}"


def _make_size(kind: str, quantity: float) -> Size:
    unit = {"g": "g", "kg": "kg", "ml": "ml", "l": "l", "ea": "ea", "pk": "pk"}[kind]
    compact = f"{_fmt_qty(quantity)}{unit}"
    base = {"kg": ("g", 1000), "l": ("ml", 1000)}.get(kind)
    base_units = quantity * (base[1] if base else 1)
    base_compact = f"{_fmt_qty(base_units)}{base[0]}" if base else compact
    return Size(kind, quantity, compact, base_units, tokens(compact), tokens(base_compact))


_SIZE_QUANTITIES = {
    "g": (50, 80, 100, 125, 150, 175, 200, 250, 300, 375, 400, 500, 600, 750, 800, 900),
    "kg": (1, 1.5, 2, 2.5, 3, 4, 5),
    "ml": (100, 150, 200, 250, 300, 330, 375, 400, 500, 600, 750),
    "l": (1, 1.25, 1.5, 2, 3, 4, 10),
    "ea": (1,),
    "pk": (4, 6, 8, 10, 12, 20, 24, 30, 36, 50),
}
_SIZES = {kind: tuple(_make_size(kind, q) for q in qs) for kind, qs in _SIZE_QUANTITIES.items()}


def _check_vocabulary() -> None:
    """Fail at import if a vocabulary edit breaks the invariants NNBS uniqueness relies on."""
    words = [*ADJECTIVES, *FIXED_BRANDS, *BRAND_SUFFIXES, *CJK_BRANDS, JUNK_PRODUCE_BRAND]
    for leaf in TAXONOMY:
        words += [*leaf.nouns, *leaf.variants]
        if not 1 <= len(leaf.path) <= 4:
            raise RuntimeError(f"category path {leaf.path} must be 1 to 4 deep")
    words += [s.compact for sizes in _SIZES.values() for s in sizes]
    words += [s.base_tokens[0] for sizes in _SIZES.values() for s in sizes]
    misparse = set(tokens(MISPARSE_SUFFIX))
    for word in [*words, *SYLLABLES]:
        for token in tokens(word):
            if LINE_MARKER in token or token in misparse:
                raise RuntimeError(f"vocabulary word {word!r} contains the line marker or a mis-parse token")


_check_vocabulary()


# --------------------------------------------------------------------------------------------------------
# Companies and stores
# --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Company:
    name: str  # lower case, as in the file metadata and file names
    carry_rate: float  # share of the catalog it lists
    has_barcodes: bool
    special_rate: float  # share of its products on special in any week
    price_factor: tuple[float, float]  # its shelf price relative to the catalog's base price, low..high
    ints_for_whole_prices: bool  # prints 4 rather than 4.0, like the real IGA file
    crosses_midnight: bool  # scrapes late, so the tail of its files carries the next day's date
    sku_digits: int
    sku_multiplier: int  # coprime with the SKU range, so SKUs are a bijection of the product index
    stores: tuple[tuple[str, str, str, str], ...]  # (store_id, store_name, state, slug)

    def sku(self, index: int, seed_offset: int) -> str:
        if self.name == "aldi":
            # Aldi: 18 digits, zero-padded, values up to 9 digits ("000000000558283001").
            return f"{(index * self.sku_multiplier + seed_offset) % 10 ** 9:018d}"
        low = 10 ** (self.sku_digits - 1)
        span = 10 ** self.sku_digits - low
        return str(low + (index * self.sku_multiplier + seed_offset) % span)


COMPANIES = {
    "aldi": Company(
        "aldi", 0.35, False, 0.02, (0.82, 0.95), False, False, 18, 7_368_787,
        (("G102", "carindale", "qld", "carindale-g102"), ("G110", "highfields", "qld", "highfields-g110"),
         ("G215", "marrickville", "nsw", "marrickville-g215"), ("G318", "dandenong", "vic", "dandenong-g318"),
         ("G421", "joondalup", "wa", "joondalup-g421"), ("G509", "mile end", "sa", "mile-end-g509"))),
    "iga": Company(
        "iga", 0.60, True, 0.18, (1.0, 1.15), True, True, 8, 7_654_321,
        (("21981", "iga local grocer north sydney", "nsw", "local-grocer-north-sydney"),
         ("20544", "iga fresh bondi", "nsw", "fresh-bondi"),
         ("30127", "supa iga brunswick", "vic", "supa-iga-brunswick"),
         ("41276", "iga toowong", "qld", "toowong"),
         ("51093", "iga fremantle", "wa", "fremantle"))),
    "coles": Company(
        "coles", 0.70, True, 0.14, (0.95, 1.06), True, True, 7, 1_234_577,
        (("0412", "coles bondi junction", "nsw", "bondi-junction"),
         ("0768", "coles southbank", "vic", "southbank"),
         ("0931", "coles chermside", "qld", "chermside"),
         ("0215", "coles perth city", "wa", "perth-city"))),
}

_EXTRA_SUBURBS = ("parramatta", "hobart", "geelong", "cairns", "darwin", "ballarat", "newcastle",
                  "wollongong", "toowoomba", "bendigo", "launceston", "mackay")
_STATES = ("nsw", "vic", "qld", "wa", "sa", "tas", "act", "nt")


@dataclass(frozen=True, slots=True)
class Store:
    company: Company
    store_id: str
    store_name: str
    state: str
    slug: str
    key: int  # hash of (company, store_id), for per-store decisions
    share: float  # share of its company's range the store lists

    def file_name(self, day: dt.date) -> str:
        return f"{self.company.name}-{self.slug}-{day.isoformat()}.jsonl"


def company_stores(company: Company, count: int) -> list[Store]:
    """The first ``count`` stores of ``company``: the named ones, then synthetic ones if more are asked."""
    rows = list(company.stores[:count])
    for k in range(len(rows), count):
        suburb = _EXTRA_SUBURBS[k % len(_EXTRA_SUBURBS)]
        if k >= len(_EXTRA_SUBURBS):
            suburb = f"{suburb} {k // len(_EXTRA_SUBURBS) + 1}"
        store_id = {"aldi": f"G{600 + k}", "iga": str(60000 + 7 * k)}.get(company.name, f"{1000 + k:04d}")
        name = suburb if company.name == "aldi" else f"{company.name} {suburb}"
        slug = "-".join(suburb.split()) + (f"-{store_id.lower()}" if company.name == "aldi" else "")
        rows.append((store_id, name, _STATES[k % len(_STATES)], slug))
    stores = []
    low, high = STORE_RANGE
    for store_id, name, state, slug in rows:
        key = _hash(_S_STORE, *name_bytes(f"{company.name}/{store_id}"))
        stores.append(Store(company, store_id, name, state, slug, key, low + (high - low) * _unit(key)))
    return stores


def name_bytes(text: str) -> tuple[int, ...]:
    """Text as ints for _hash, so hashes of names do not depend on Python's randomised str hash."""
    return tuple(text.encode("utf-8"))


# Per-company hash keys: decisions are keyed by the company's name, not by its position in the requested
# list, so a company's files do not change when other companies are added or removed.
COMPANY_KEYS = {name: _hash(*name_bytes(name)) for name in COMPANIES}


# --------------------------------------------------------------------------------------------------------
# Catalog products, rebuilt on demand from (seed, index)
# --------------------------------------------------------------------------------------------------------

@dataclass(slots=True)
class Product:
    index: int
    key: int  # the product's own hash, the root of all its daily decisions
    leaf: Leaf
    words: tuple[str, ...]  # display words of the name, without brand or size
    brand: str  # "" for unbranded produce
    size: Size
    barcode: str | None
    base_price: float  # regular shelf price before company and day adjustments
    image_id: str  # 32 hex digits
    name_tokens: tuple[str, ...]  # normalised tokens of ``words``, in reading order
    brand_tokens: tuple[str, ...]  # normalised tokens of ``brand``, in reading order
    has_description: bool

    def nnbs(self, style: str, brand_tokens: tuple[str, ...] | None = None) -> str:
        """The normalized name-brand-size in one of the spellings the scrapers have used.

        "packed": sorted unique tokens run together ("200gchoceurchocolatedelightfulmintthins");
        "base": the same with kg and l sizes in g and ml ("2000g..." instead of "2kg...");
        "spaced": unique tokens in reading order, space-separated ("choceur delightful ... 200g").
        """
        brand_tokens = self.brand_tokens if brand_tokens is None else brand_tokens
        if style == "spaced":
            return " ".join(dict.fromkeys(brand_tokens + self.name_tokens + self.size.packed_tokens))
        size_tokens = self.size.base_tokens if style == "base" else self.size.packed_tokens
        return "".join(sorted(set(brand_tokens + self.name_tokens + size_tokens)))

    @property
    def alternate_style(self) -> str:
        # The spelling a product drifts to: kg and l products may switch to base units, as in the real files.
        if self.size.has_base_spelling and self.key & 1:
            return "base"
        return "spaced"


def _line_word(index: int, offset: int) -> str:
    """A unique invented product-line word for product ``index``, e.g. "Tamirox".

    Why: it makes every NNBS unique by construction. The word is three syllables (6 letters, none of them
    the LINE_MARKER) followed by the marker, and no other vocabulary word contains the marker. So in any
    NNBS spelling the marker occurs once, the 6 letters before it name exactly one product, and two
    products can never share an NNBS, whatever their brand, size and other words.
    """
    code = (index * 918_355 + offset) % MAX_PRODUCTS  # bijective: 918355 is coprime with 108**3 = 2^6 3^9
    s1, rest = divmod(code, 108 * 108)
    s2, s3 = divmod(rest, 108)
    return (SYLLABLES[s1] + SYLLABLES[s2] + SYLLABLES[s3] + LINE_MARKER).capitalize()


def _brand_name(brand_index: int) -> str:
    if brand_index < len(FIXED_BRANDS):
        return FIXED_BRANDS[brand_index]
    j = brand_index - len(FIXED_BRANDS)
    if j % 53 == 11:
        return CJK_BRANDS[j % len(CJK_BRANDS)]
    # A permutation of j spreads consecutive indices over the syllables (else they would all rhyme);
    # two syllables while they last, then three.
    if j < 108 ** 2:
        code, length = (j * 7919) % 108 ** 2, 2
    else:
        code, length = (j * 7919) % 108 ** 3, 3
    word = "".join(SYLLABLES[code // 108 ** k % 108] for k in range(length))
    if j % 31 == 7:  # a few accented brands, folded to ASCII by the normaliser
        vowel = next((v for v in word if v in ACCENTS), None)
        if vowel:
            word = word.replace(vowel, ACCENTS[vowel], 1)
    return f"{word.capitalize()} {BRAND_SUFFIXES[j % len(BRAND_SUFFIXES)]}"


def _ean13(index: int, offset: int) -> str:
    """A valid EAN-13 with the Australian "93" prefix, a bijection of the product index (so unique)."""
    body = f"93{(index * 3_571_428_571 + offset) % 10 ** 10:010d}"  # multiplier coprime with 10
    odd = sum(int(c) for c in body[0::2])
    even = sum(int(c) for c in body[1::2])
    return body + str((10 - (odd + 3 * even) % 10) % 10)


def _shelf_price(value: float, u: float) -> float:
    """Round a raw price to a realistic shelf price ending (.99, .49, .00 ...), at least 0.49."""
    endings = (0.99, 0.99, 0.99, 0.49, 0.49, 0.50, 0.79, 0.29, 0.25, 0.89, 0.69, 0.19, 0.05, 0.35)
    if u < WHOLE_PRICE_RATE:
        return float(max(1, round(value)))
    ending = endings[int(u * 1_000_003) % len(endings)]
    dollars = int(value)
    return max(0.49, round(dollars + ending, 2))


class Catalog:
    """The (virtual) catalog of ``size`` products for ``seed``: products are built on demand, never stored.
    ``rates`` says how much each later day changes."""

    def __init__(self, size: int, seed: int, rates: ChangeRates = REAL_RATES):
        if not 1 <= size <= MAX_PRODUCTS:
            raise ValueError(f"products must be between 1 and {MAX_PRODUCTS}, got {size}")
        self.size = size
        self.rates = rates
        self.seed = seed & _MASK64
        self.brand_count = max(len(FIXED_BRANDS), size // 10)  # about one brand per 10 products
        self._offset = _hash(self.seed, 0xC0DE) % 10 ** 9  # shifts SKUs, barcodes and line words per seed

    def product(self, index: int) -> Product:
        key = _hash(self.seed, _S_PRODUCT, index)
        rng = random.Random(key)
        leaf = rng.choice(TAXONOMY)
        words = [_line_word(index, self._offset)]
        if rng.random() < 0.6:
            words.append(rng.choice(ADJECTIVES))
        words.append(rng.choice(leaf.nouns))
        if leaf.variants and rng.random() < 0.5:
            words.append(rng.choice(leaf.variants))
        size = rng.choice(_SIZES[leaf.kind])
        if leaf.branded or rng.random() < 0.3:
            brand = _brand_name(rng.randrange(self.brand_count))
        else:
            brand = ""
        per_unit = rng.uniform(*leaf.price_per_unit)
        raw_price = per_unit * self._priced_quantity(size)
        barcode = _ean13(index, self._offset) if rng.random() < BARCODE_RATE else None
        image_id = f"{rng.getrandbits(128):032x}"
        # The line word is unique per product, so it bypasses the tokens() cache instead of flooding it.
        name_tokens = (words[0].lower(),) + tuple(t for w in words[1:] for t in tokens(w))
        return Product(index, key, leaf, tuple(words), brand, size, barcode,
                       _shelf_price(min(max(raw_price, 0.6), 400.0), rng.random()), image_id,
                       name_tokens, tokens(brand), rng.random() < 0.4)

    @staticmethod
    def _priced_quantity(size: Size) -> float:
        # price_per_unit is per kg or l for weights and volumes, per item for each and packs.
        if size.kind in ("g", "ml"):
            return size.quantity / 1000
        return size.quantity

    def sku(self, company: Company, index: int) -> str:
        return company.sku(index, self._offset)

    # ---- daily state, all derived from hashes, so any day can be produced without the previous ones ----

    def is_listed(self, product: Product, day: int) -> bool:
        """Catalog-wide lifecycle: a few products launch on a later day, a few are delisted."""
        u = _chance(product.key, _salt(_S_LIFECYCLE))
        launch, delist = self.rates.launch, self.rates.delist
        if u < launch:
            return day >= 1 + int(u / launch * LIFECYCLE_HORIZON)
        if u < launch + delist:
            return day < 1 + int((u - launch) / delist * LIFECYCLE_HORIZON)
        return True

    def nnbs_style(self, product: Product, day: int) -> str:
        """Spelling of the product's NNBS on ``day``: each later day, a few products flip generation."""
        # Walks all earlier days (a flip back restores the first spelling): O(days), fine for realistic runs.
        flips = sum(1 for d in range(1, day + 1)
                    if _chance(product.key, _salt(_S_DRIFT, d)) < self.rates.nnbs_drift)
        return product.alternate_style if flips % 2 else "packed"

    def price_since(self, product: Product, company: Company, day: int) -> int:
        """The day the company's current price of the product was set: its latest price change, or day 0.
        Its prices must not change on the days in between, so both the shelf price and the special are
        drawn for this day alone."""
        ckey = COMPANY_KEYS[company.name]
        for d in range(day, 0, -1):  # walk back to the latest price change; expected ~1/rates.price steps
            if _chance(product.key, _salt(_S_PRICE, ckey, d)) < self.rates.price:
                return d
        return 0

    def regular_price(self, product: Product, company: Company, since: int) -> float:
        """The company's regular shelf price set on day ``since`` (see ``price_since``)."""
        ckey = COMPANY_KEYS[company.name]
        low, high = company.price_factor
        factor = low + (high - low) * _chance(product.key, _salt(_S_COMPANY_PRICE, ckey))
        price = product.base_price * factor
        if since:
            price *= 0.85 + 0.3 * _chance(product.key, _salt(_S_PRICE_LEVEL, ckey, since))
        return _shelf_price(price, _chance(product.key, _salt(_S_PRICE_LEVEL, ckey, since, 1)))

    def special_price(self, product: Product, company: Company, since: int,
                      regular: float) -> float | None:
        """The special price set on day ``since`` if the product went on special then, else None."""
        ckey = COMPANY_KEYS[company.name]
        if _chance(product.key, _salt(_S_SPECIAL, ckey, since)) >= company.special_rate or regular < 1:
            return None
        discount = (0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)[
            _draw(product.key, _salt(_S_DISCOUNT, ckey, since)) % 7]
        special = round(regular * (1 - discount) * 20) / 20  # specials end in .x0 or .x5
        special = min(special, round(regular - 0.05, 2))
        return max(0.1, round(special, 2))

    def has_duplicate_line(self, product: Product, company: Company, day: int) -> bool:
        ckey = COMPANY_KEYS[company.name]
        return _chance(product.key, _salt(_S_DUPLICATE, ckey, day)) < DUPLICATE_SKU_RATE


# --------------------------------------------------------------------------------------------------------
# Lines: one product as one company's scraper prints it
# --------------------------------------------------------------------------------------------------------

def _number(value: float | None, ints: bool) -> float | int | None:
    if value is None:
        return None
    return int(value) if ints and value == int(value) else value


def _display_name(company: Company, product: Product) -> tuple[str, str]:
    """(name, normalized_name) as the company prints them.

    Aldi puts the size in the name and the brand aside; IGA prefixes the brand; Coles prefixes the brand and
    appends "| size". The normalised name is assembled from the parts' tokens: cheaper than re-tokenising.
    """
    base = " ".join(product.words)
    size = product.size
    if company.name == "aldi":
        if size.kind in ("ea", "pk"):
            return base, " ".join(product.name_tokens)
        return f"{base} {size.compact}", " ".join(product.name_tokens + size.packed_tokens)
    brand_part = f"{product.brand} " if product.brand else ""
    if company.name == "iga":
        return brand_part + base, " ".join(product.brand_tokens + product.name_tokens)
    return (f"{brand_part}{base} | {size.compact}",
            " ".join(product.brand_tokens + product.name_tokens + size.packed_tokens))


def _raw_size(company: Company, size: Size) -> str:
    if company.name == "aldi":
        unit = {"g": "g", "kg": "kg", "ml": "ml", "l": "l", "ea": "each", "pk": "pack"}[size.kind]
        return f"{_fmt_qty(size.quantity)} {unit}"
    if company.name == "iga":
        return f"{size.compact} Each"
    return size.compact


def _unit_pricing(company: Company, size: Size, price: float) -> tuple[float, str, str, float]:
    """(unit_price, unit_of_measure, per_unit_price_string, its amount) in the company's style."""
    if size.kind in ("ea", "pk"):
        per_item = price / size.base_units
        uom = "1.0each" if company.name == "aldi" else "1each"
        text = f"${per_item:.2f}/ea" if company.name == "iga" else f"${per_item:.2f} per 1 each"
        return round(per_item, 2), uom, text, round(per_item, 2)
    per_big = price / size.base_units * 1000  # per kg or l
    big, small = ("kg", "g") if size.kind in ("g", "kg") else ("l", "ml")
    uom = f"1.0{big}" if company.name == "aldi" and size.kind in ("kg", "l") else f"1{big}"
    if size.kind in ("g", "ml"):  # small packs are labelled per 100 g or ml
        amount, label, label_iga = per_big / 10, f"100 {small}", f"100{small}"
    else:
        amount, label, label_iga = per_big, f"1 {big}", big
    if company.name == "iga":
        text = f"${amount:.2f}/{label_iga}"
    elif company.name == "aldi":
        text = f"${amount:.2f} per {label}"
    else:
        text = f"${amount:.2f} per {label.replace(' ', '')}"
    return round(per_big, 2), uom, text, round(amount, 2)


def _urls(company: Company, product: Product, sku: str) -> tuple[str | None, str]:
    if company.name == "aldi":
        slug = "-".join((product.brand_tokens or ("no", "brand")) + product.name_tokens)
        image = ("https://dm.apac.cms.aldi.cx/is/image/aldiprodapac/product/jpg/scaleWidth/{width}/"
                 f"{product.image_id[:8]}-{product.image_id[8:12]}-{product.image_id[12:16]}-"
                 f"{product.image_id[16:20]}-{product.image_id[20:]}/{{slug}}")
        return f"https://www.aldi.com.au/product/{slug}-{product.size.compact}-{sku}", image
    if company.name == "iga":
        return None, ("https://cdn.metcash.media/image/upload/w_1500,h_1500,c_pad,b_auto/igashop/images/"
                      f"{sku}.jpg")
    slug = "-".join(product.brand_tokens + product.name_tokens + product.size.packed_tokens)
    return (f"https://www.coles.com.au/product/{slug}-{sku}",
            f"https://productimages.coles.com.au/productimages/{sku[0]}/{sku}.jpg")


def _category_path(company: Company, leaf: Leaf) -> list[str]:
    # Aldi's site only has two levels; the others print the full path (1 to 4 names).
    return list(leaf.path[:2]) if company.name == "aldi" else list(leaf.path)


@dataclass(slots=True)
class Offer:
    """One product's listing at one company on one day: what varies by company and day."""

    sku: str
    nnbs: str
    price: float
    was: float | None
    scraped_date: str


def product_line(company: Company, product: Product, offer: Offer, misparsed: bool = False) -> dict:
    """The ``product`` object of a line, keys in the order of the real files."""
    ints = company.ints_for_whole_prices
    if misparsed:
        brand = f"{product.brand} {MISPARSE_SUFFIX}".strip()
    elif not product.brand and company.name == "iga":
        brand = JUNK_PRODUCE_BRAND
    else:
        brand = product.brand
    name, normalized_name = _display_name(company, product)
    url, image_url = _urls(company, product, offer.sku)
    unit_price, uom, per_unit_text, per_unit_amount = _unit_pricing(company, product.size, offer.price)
    on_special = offer.was is not None
    description = None
    if company.name == "iga" and product.has_description:
        description = f"{name}. {DESCRIPTIONS[product.key % len(DESCRIPTIONS)]}"
    return {
        "sku": offer.sku,
        "name": name,
        "brand": brand,
        "barcode": product.barcode if company.has_barcodes else None,
        "description": description,
        "ingredients": None,
        "allergens": None,
        "country_of_origin": None,
        "size": _raw_size(company, product.size),
        "image_url": image_url,
        "url": url,
        "category_path": _category_path(company, product.leaf),
        "price_current": _number(offer.price, ints),
        "price_was": _number(offer.was, ints),
        "per_unit_price_string": per_unit_text,
        "per_unit_price_value": per_unit_amount if company.name == "aldi" else None,
        "per_unit_price_measure": None,
        "average_user_rating": None,
        "rating_count": None,
        "health_star_rating": None,
        "is_on_special": on_special,
        "price_save_amount": _number(round(offer.was - offer.price, 2), ints) if on_special else None,
        "unit_price": unit_price,
        "unit_of_measure": uom,
        "is_available": company.name != "aldi",
        "normalized_name": normalized_name,
        "normalized_brand": _normalized_brand(brand),
        "sizes": [product.size.compact],
        "normalized_name_brand_size": offer.nnbs,
        "scraped_date": offer.scraped_date,
    }


def misparsed_nnbs(product: Product, style: str) -> str:
    """The NNBS a scraper computes when it glues MISPARSE_SUFFIX to the brand: always a different string."""
    return product.nnbs(style, product.brand_tokens + tokens(MISPARSE_SUFFIX))


# --------------------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------------------

class _StoreFile:
    """One store's file of one day: written to a hidden temporary name, renamed when complete, so a
    pipeline watching the inbox never picks up a half-written file."""

    def __init__(self, out_dir: Path, store: Store, day: dt.date):
        self.store = store
        self.path = out_dir / store.file_name(day)
        self._tmp = out_dir / f".{self.path.name}.part"
        self._fh = open(self._tmp, "wb", buffering=1 << 20)
        self.lines = 0
        tomorrow = day + dt.timedelta(days=1)
        self.metadata = {day: self._metadata(day), tomorrow: self._metadata(tomorrow)}

    def _metadata(self, day: dt.date) -> bytes:
        return orjson.dumps({"company": self.store.company.name, "store_name": self.store.store_name,
                             "store_id": self.store.store_id, "state": self.store.state,
                             "scraped_date": day.isoformat()})

    def write(self, product_json: bytes, day: dt.date) -> None:
        # Splicing pre-serialised parts: the product object is dumped once for all stores of a company.
        self._fh.write(b'{"product":' + product_json + b',"metadata":' + self.metadata[day] + b"}\n")
        self.lines += 1

    def close(self) -> None:
        self._fh.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        self._fh.close()
        self._tmp.unlink(missing_ok=True)


def _parse_date(value: dt.date | str) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _store_carries(store: Store, product: Product, day: int, outage: float) -> bool:
    if _chance(product.key, store.key) >= store.share:
        return False
    return _chance(product.key, _salt(_S_OUTAGE, store.key, day)) >= outage


def _carries(product: Product, company: Company) -> bool:
    """Whether the company lists the product at all. A product that no company would list goes to one of
    them (chosen among all known companies, so the choice does not depend on which ones are generated)."""
    if _chance(product.key, _salt(_S_CARRY, COMPANY_KEYS[company.name])) < company.carry_rate:
        return True
    if any(_chance(product.key, _salt(_S_CARRY, COMPANY_KEYS[c.name])) < c.carry_rate
           for c in COMPANIES.values()):
        return False
    return DEFAULT_COMPANIES[product.key % len(DEFAULT_COMPANIES)] == company.name


def _company_lines(catalog: Catalog, product: Product, company: Company, day_index: int, line_day: dt.date,
                   style: str, nnbs: str) -> list[bytes]:
    """The serialised product objects a company prints for the product that day: usually one, sometimes a
    second one with the same SKU and a mis-parsed brand (hence a different NNBS)."""
    since = catalog.price_since(product, company, day_index)
    regular = catalog.regular_price(product, company, since)
    special = catalog.special_price(product, company, since, regular)
    offer = Offer(catalog.sku(company, product.index), nnbs, regular if special is None else special,
                  None if special is None else regular, line_day.isoformat())
    lines = [orjson.dumps(product_line(company, product, offer))]
    if catalog.has_duplicate_line(product, company, day_index):
        twin = dataclasses.replace(offer, nnbs=misparsed_nnbs(product, style))
        lines.append(orjson.dumps(product_line(company, product, twin, misparsed=True)))
    return lines


def _write_day(catalog: Catalog, out_dir: Path, stores: Sequence[Store], day_index: int,
               day: dt.date) -> list[_StoreFile]:
    """Write one day's file of every store, walking the catalog once with all the files open."""
    files = [_StoreFile(out_dir, store, day) for store in stores]
    by_company: dict[str, list[_StoreFile]] = {}
    for f in files:
        by_company.setdefault(f.store.company.name, []).append(f)
    tomorrow = day + dt.timedelta(days=1)
    midnight_from = int(catalog.size * (1 - MIDNIGHT_TAIL))  # the catalog walk ends with these products
    try:
        for index in range(catalog.size):
            product = catalog.product(index)
            if not catalog.is_listed(product, day_index):
                continue
            style = catalog.nnbs_style(product, day_index)
            nnbs = product.nnbs(style)
            for company_files in by_company.values():
                company = company_files[0].store.company
                if not _carries(product, company):
                    continue
                targets = [f for f in company_files if _store_carries(f.store, product, day_index, catalog.rates.outage)]
                if not targets:
                    continue
                line_day = tomorrow if company.crosses_midnight and index >= midnight_from else day
                lines = _company_lines(catalog, product, company, day_index, line_day, style, nnbs)
                for f in targets:
                    for line in lines:
                        f.write(line, line_day)
    except BaseException:
        for f in files:
            f.abort()
        raise
    for f in files:
        f.close()
    return files


def generate_inbox(
    out_dir: str | os.PathLike,
    products: int = 2000,
    days: int = 2,
    stores_per_company: int = 2,
    seed: int = 1,
    start_date: dt.date | str = DEFAULT_START_DATE,
    companies: Iterable[str] = DEFAULT_COMPANIES,
    stats: dict | None = None,
    rates: ChangeRates = REAL_RATES,
) -> list[Path]:
    """Write ``days`` days of scrapes of a ``products``-strong catalog into ``out_dir``; return the files.

    One file per store and day, oldest day first; ``rates`` says how much each later day changes.
    The output is a pure function of the arguments.
    If ``stats`` is given, it is filled with ``files``, ``lines`` and ``bytes`` written.
    """
    if days < 1 or stores_per_company < 1:
        raise ValueError("days and stores_per_company must be at least 1")
    names = list(dict.fromkeys(c.strip().lower() for c in companies))
    unknown = [c for c in names if c not in COMPANIES]
    if unknown or not names:
        raise ValueError(f"unknown or no companies {unknown}; known: {sorted(COMPANIES)}")
    catalog = Catalog(products, seed, rates)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stores = [s for name in names for s in company_stores(COMPANIES[name], stores_per_company)]
    first = _parse_date(start_date)
    written: list[_StoreFile] = []
    for day_index in range(days):
        written += _write_day(catalog, out, stores, day_index, first + dt.timedelta(days=day_index))
    if stats is not None:
        stats.update(files=len(written), lines=sum(f.lines for f in written),
                     bytes=sum(f.path.stat().st_size for f in written))
    return [f.path for f in written]
