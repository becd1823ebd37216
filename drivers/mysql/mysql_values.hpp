// Values in the binary protocol: binding parameters, and MYSQL_TIME forms
// of timestamps and dates.
//
// Timestamps travel as DATETIME in UTC (the session's time_zone is
// '+00:00', so TIMESTAMP columns read back in UTC too), microseconds in
// MYSQL_TIME::second_part; dates as DATE.
#pragma once

#include <mysql.h>

#include <cstddef>
#include <span>
#include <vector>

#include "tessera/driver/error.hpp"
#include "tessera/driver/value.hpp"

namespace tessera::mysql::detail {

// False if the year is outside 0001..9999.
bool to_mysql_time(Timestamp t, MYSQL_TIME& out);
bool to_mysql_date(Date d, MYSQL_TIME& out);
// False for a zero or impossible date (NO_ZERO_DATE keeps them out of
// Tessera's tables, but raw SQL can produce them).
bool from_mysql_time(const MYSQL_TIME& t, Timestamp& out);
bool from_mysql_date(const MYSQL_TIME& t, Date& out);

// The parameters of one prepared statement (kept with it, see
// StatementLease::params()). Text and blobs point into the caller's Values,
// which stay valid until mysql_stmt_execute has returned (an operation's
// params, or the rows an insert pulled from its row source: the next pull
// comes after the execution); numbers, times and lengths are copied into
// slots owned by the binder, which stays alive and in place until then.
//
// The library reads the slots and the pointed-at bytes when the statement
// executes, so an execution whose parameters have the types of the previous
// one and no text or blob at a new address only refills the slots:
// mysql_stmt_bind_param, and the types it makes the next execution send,
// are skipped (as a C program binds once and executes many times). A text
// at the same address with other contents (a short owned string inside a
// Value of a buffer a row source refills) is read afresh all the same.
class ParamBinder {
 public:
  // Errors: invalid_statement when the statement has another number of
  // parameters; invalid_value for a time outside the years 0001..9999;
  // the library's, from mysql_stmt_bind_param.
  Status bind(MYSQL_STMT* stmt, std::span<const Value> params);

 private:
  union Slot {
    long long integer;
    double real;
    signed char boolean;
    unsigned long length;  // of a text or blob
    MYSQL_TIME time;
  };
  // Sets `b` to `type` and `buffer`; true if the library must be told.
  static bool set(MYSQL_BIND& b, enum_field_types type, void* buffer);

  std::vector<MYSQL_BIND> binds_;
  std::vector<Slot> slots_;
  bool checked_ = false;  // binds_ has the statement's parameter count
  bool bound_ = false;    // the library holds binds_ (mysql_stmt_bind_param)
};

}  // namespace tessera::mysql::detail
