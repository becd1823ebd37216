// Quickstart: a typed model stored in SQLite through the sqlite driver,
// loaded at run time as a plugin. Run with no argument for an in-memory
// database, or pass a URL (sqlite:///tmp/quickstart.db, ...).
#include <tessera/tessera.hpp>

#include <cstdio>
#include <optional>
#include <string>

namespace app {

enum class Plan : std::int8_t { free, pro };

struct User {
  std::int64_t id{};
  std::string name;
  std::string email;
  std::optional<std::string> bio;
  Plan plan{Plan::free};
  tessera::Timestamp created_at;
};
TESSERA_MODEL(User, "users", (id, tessera::primary_key, tessera::auto_increment),
              (name, tessera::index), (email, tessera::unique), (bio), (plan), (created_at));

// A smaller struct for a partial selection.
struct UserName {
  std::int64_t id{};
  std::string name;
};
TESSERA_PARTIAL(UserName, User, (id), (name));

}  // namespace app

int main(int argc, char** argv) {
  using app::User;
  using tessera::col;
  const std::string url = argc > 1 ? argv[1] : "sqlite::memory:";
  try {
    auto db = tessera::Db::open(url);
    const auto& origin = db.driver_origin();
    std::printf(
        "opened %s with driver '%s' (%s)\n", url.c_str(), std::string(db.driver_name()).c_str(),
        origin.linked ? "linked into the program" : ("plugin " + origin.plugin.string()).c_str());
    db.push_schema<User>();

    const auto now = tessera::Timestamp::now();
    User ada = db.insert(User{.name = "ada", .email = "ada@example.com", .created_at = now});
    std::printf("inserted ada with generated id %lld\n", static_cast<long long>(ada.id));

    std::vector<User> more{
        {.name = "alan", .email = "alan@example.com", .bio = "computing", .created_at = now},
        {.name = "grace", .email = "grace@example.com", .plan = app::Plan::pro, .created_at = now},
        {.name = "alonzo", .email = "alonzo@example.com", .created_at = now},
    };
    db.insert_many(more);
    std::printf("inserted %zu more users in one batch, ids %lld..%lld\n", more.size(),
                static_cast<long long>(more.front().id), static_cast<long long>(more.back().id));

    auto page = db.fetch_all(tessera::select<User>()
                                 .where(col(&User::name).like("a%") && col(&User::bio).is_null())
                                 .order_by(col(&User::name).desc())
                                 .limit(10));
    std::printf("users named a%% without a bio, in reverse name order:\n");
    for (const auto& u : page)
      std::printf("  #%lld %s <%s>\n", static_cast<long long>(u.id), u.name.c_str(),
                  u.email.c_str());

    const auto changed = db.execute(
        tessera::update<User>().set(&User::bio, "mathematics").where(col(&User::id) == ada.id));
    std::printf("update set bio: %llu row changed\n", static_cast<unsigned long long>(changed));

    {
      auto tx = db.transaction({.isolation = tessera::Isolation::serializable});
      tx.insert(User{.name = "edsger", .email = "edsger@example.com", .created_at = now});
      std::printf("inside a transaction: %lld users\n",
                  static_cast<long long>(tx.count(tessera::select<User>())));
      // No commit: the transaction rolls back when it leaves scope.
    }
    std::printf("after rollback: %lld users\n",
                static_cast<long long>(db.count(tessera::select<User>())));

    try {
      db.insert(User{.name = "copy", .email = "ada@example.com", .created_at = now});
    } catch (const tessera::ConstraintError& e) {
      std::printf("duplicate email refused: %s (constraint %s)\n",
                  std::string(to_string(e.kind())).c_str(), e.constraint().c_str());
    }

    auto found = db.find<User>(ada.id);
    std::printf("find(%lld): %s, bio %s\n", static_cast<long long>(ada.id),
                found ? found->name.c_str() : "(none)",
                found && found->bio ? found->bio->c_str() : "(null)");

    std::printf("names only:");
    for (const auto& n :
         db.fetch_all(tessera::select<User>().order_by(col(&User::id)).into<app::UserName>()))
      std::printf(" %s", n.name.c_str());
    std::printf("\n");
    return 0;
  } catch (const tessera::DbError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
