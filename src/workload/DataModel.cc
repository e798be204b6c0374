#include "workload/DataModel.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "workload/Rng.h"

namespace streamshop::workload {
namespace {

// Domain-separation tags: each field draws from its own hash stream.
enum Tag : uint64_t { kFirst = 1, kLast, kPlace, kDomain, kCategory, kAdjective, kNoun, kPrice, kCents, kReprice };

constexpr std::array<std::string_view, 48> kFirstNames = {
    "Anna",  "Ben",   "Carla", "David", "Elena", "Farid",  "Grace", "Hiro",  "Ines",  "Jonas", "Kofi",   "Lena",
    "Mateo", "Nadia", "Oscar", "Priya", "Quinn", "Rosa",   "Samir", "Tessa", "Umar",  "Vera",  "Wei",    "Ximena",
    "Yusuf", "Zoe",   "Amara", "Bruno", "Chloe", "Dmitri", "Emma",  "Felix", "Gita",  "Hugo",  "Ingrid", "Jamal",
    "Keiko", "Liam",  "Maya",  "Noah",  "Olga",  "Pablo",  "Rania", "Sven",  "Tomas", "Uma",   "Viktor", "Yara"};

constexpr std::array<std::string_view, 48> kLastNames = {
    "Adams",    "Bauer",    "Costa",  "Dubois",   "Eriksen", "Fischer",   "Garcia",    "Hansen", "Ito",     "Jensen",
    "Kowalski", "Larsen",   "Moreau", "Nakamura", "Okafor",  "Petrov",    "Quinteros", "Rossi",  "Schmidt", "Tanaka",
    "Urbina",   "Varga",    "Wagner", "Xu",       "Yilmaz",  "Zimmer",    "Almeida",   "Becker", "Chen",    "Dalton",
    "Evans",    "Ferreira", "Gomez",  "Horvat",   "Ivanova", "Johansson", "Kim",       "Lopez",  "Mendes",  "Novak",
    "Olsen",    "Patel",    "Ramos",  "Silva",    "Novotny", "Weber",     "Young",     "Zhang"};

struct Country {
  std::string_view name;
  std::array<std::string_view, 4> cities;
};

constexpr std::array<Country, 16> kCountries = {{
    {"Germany", {"Berlin", "Hamburg", "Munich", "Cologne"}},
    {"France", {"Paris", "Lyon", "Marseille", "Toulouse"}},
    {"Spain", {"Madrid", "Barcelona", "Valencia", "Seville"}},
    {"Italy", {"Rome", "Milan", "Naples", "Turin"}},
    {"Netherlands", {"Amsterdam", "Rotterdam", "Utrecht", "Eindhoven"}},
    {"Poland", {"Warsaw", "Krakow", "Gdansk", "Wroclaw"}},
    {"Sweden", {"Stockholm", "Gothenburg", "Malmo", "Uppsala"}},
    {"United Kingdom", {"London", "Manchester", "Edinburgh", "Bristol"}},
    {"Ireland", {"Dublin", "Cork", "Galway", "Limerick"}},
    {"United States", {"New York", "Chicago", "Austin", "Seattle"}},
    {"Canada", {"Toronto", "Montreal", "Vancouver", "Calgary"}},
    {"Brazil", {"Sao Paulo", "Rio de Janeiro", "Curitiba", "Recife"}},
    {"Mexico", {"Mexico City", "Guadalajara", "Monterrey", "Puebla"}},
    {"Japan", {"Tokyo", "Osaka", "Kyoto", "Sapporo"}},
    {"India", {"Mumbai", "Bengaluru", "Delhi", "Pune"}},
    {"Australia", {"Sydney", "Melbourne", "Brisbane", "Perth"}},
}};

// Reserved example domains only (RFC 2606 / 6761): generated addresses can never reach a real mailbox.
constexpr std::array<std::string_view, 5> kDomains = {"example.com", "example.net", "example.org", "mail.example",
                                                      "inbox.test"};

struct Category {
  std::string_view name;
  std::string_view sku_prefix;
  int64_t min_dollars;
  int64_t max_dollars;
  std::array<std::string_view, 6> nouns;
};

constexpr std::array<Category, 10> kCategories = {{
    {"Electronics",
     "ELE",
     15,
     400,
     {"Headphones", "Bluetooth Speaker", "USB-C Charger", "Smartwatch", "E-Reader", "Webcam"}},
    {"Home & Kitchen",
     "HOM",
     10,
     300,
     {"Espresso Machine", "Chef's Knife", "Cast Iron Skillet", "Kettle", "Blender", "Cutting Board"}},
    {"Books", "BOO", 8, 60, {"Cookbook", "Novel", "Travel Guide", "Biography", "Poetry Collection", "Atlas"}},
    {"Sports & Outdoors",
     "SPO",
     10,
     250,
     {"Yoga Mat", "Running Shoes", "Tent", "Water Bottle", "Bike Helmet", "Backpack"}},
    {"Toys & Games", "TOY", 5, 120, {"Board Game", "Jigsaw Puzzle", "Building Set", "Plush Bear", "Card Game", "Kite"}},
    {"Beauty", "BEA", 4, 150, {"Face Cream", "Shampoo", "Lip Balm", "Perfume", "Hair Dryer", "Sunscreen"}},
    {"Clothing", "CLO", 8, 200, {"T-Shirt", "Hoodie", "Rain Jacket", "Wool Socks", "Jeans", "Scarf"}},
    {"Garden", "GAR", 5, 120, {"Watering Can", "Pruning Shears", "Seed Kit", "Planter", "Garden Hose", "Bird Feeder"}},
    {"Office", "OFF", 3, 350, {"Notebook", "Fountain Pen", "Desk Lamp", "Office Chair", "Monitor Stand", "Stapler"}},
    {"Grocery", "GRO", 3, 40, {"Coffee Beans", "Green Tea", "Olive Oil", "Dark Chocolate", "Honey", "Pasta"}},
}};

constexpr std::array<std::string_view, 16> kAdjectives = {
    "Classic", "Compact", "Deluxe", "Eco",   "Essential", "Premium", "Pro",    "Ultra",
    "Vintage", "Smart",   "Nordic", "Urban", "Everyday",  "Travel",  "Studio", "Signature"};

constexpr std::array<int64_t, 5> kCentEndings = {99, 49, 95, 0, 50};

template <typename T, size_t N>
const T& Pick(const std::array<T, N>& items, uint64_t hash) {
  return items[Reduce(hash, N)];
}

// "Ximena" -> "ximena"; the lists are ASCII.
std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

CustomerValues DataModel::Customer(int64_t customer_id, uint64_t variant) const {
  const auto id = static_cast<uint64_t>(customer_id);
  // The first name is fixed for life; surname, place and e-mail domain may change with an update.
  const std::string_view first = Pick(kFirstNames, Hash64({seed_, kFirst, id}));
  const std::string_view last = Pick(kLastNames, Hash64({seed_, kLast, id, variant}));
  const Country& country = Pick(kCountries, Hash64({seed_, kPlace, id, variant}));
  const std::string_view city = Pick(country.cities, Hash64({seed_, kPlace, id, variant, 1}));
  const std::string_view domain = Pick(kDomains, Hash64({seed_, kDomain, id, variant}));
  CustomerValues v;
  v.full_name = fmt::format("{} {}", first, last);
  v.email = fmt::format("{}.{}.{}@{}", Lower(first), Lower(last), customer_id, domain);
  v.country = std::string(country.name);
  v.city = std::string(city);
  return v;
}

ProductValues DataModel::Product(int64_t product_id) const {
  const auto id = static_cast<uint64_t>(product_id);
  const Category& cat = Pick(kCategories, Hash64({seed_, kCategory, id}));
  const std::string_view adjective = Pick(kAdjectives, Hash64({seed_, kAdjective, id}));
  const std::string_view noun = Pick(cat.nouns, Hash64({seed_, kNoun, id}));
  // Cheaper items are more common: the smaller of two uniform draws over the category's range.
  const auto span = static_cast<uint64_t>(cat.max_dollars - cat.min_dollars + 1);
  const uint64_t a = Reduce(Hash64({seed_, kPrice, id, 0}), span);
  const uint64_t b = Reduce(Hash64({seed_, kPrice, id, 1}), span);
  const int64_t dollars = cat.min_dollars + static_cast<int64_t>(std::min(a, b));
  const int64_t cents = Pick(kCentEndings, Hash64({seed_, kCents, id}));
  ProductValues v;
  v.sku = fmt::format("{}-{:06}", cat.sku_prefix, product_id);
  v.name = fmt::format("{} {}", adjective, noun);
  v.category = std::string(cat.name);
  v.price_cents = std::clamp(dollars * 100 + cents, kMinPriceCents, kMaxPriceCents);
  return v;
}

int64_t DataModel::Repriced(int64_t product_id, int64_t current_cents, uint64_t change) const {
  const uint64_t h = Hash64({seed_, kReprice, static_cast<uint64_t>(product_id), change});
  // 1..20 % in steps of 0.1 %, up a little more often than down (prices drift upwards, as they do).
  const auto per_mille = static_cast<int64_t>(10 + Reduce(h, 191));
  const bool up = Reduce(Mix64(h), 100) < 55;
  const int64_t delta = std::max<int64_t>(1, current_cents * per_mille / 1000);
  return std::clamp(up ? current_cents + delta : current_cents - delta, kMinPriceCents, kMaxPriceCents);
}

std::string DataModel::FormatCents(int64_t cents) {
  const bool negative = cents < 0;
  const uint64_t abs = negative ? 0 - static_cast<uint64_t>(cents) : static_cast<uint64_t>(cents);
  return fmt::format("{}{}.{:02}", negative ? "-" : "", abs / 100, abs % 100);
}

}  // namespace streamshop::workload
