// Secrets from the environment or from files, one policy for every client (PostgreSQL, ClickHouse, Kafka) and the
// config file: a file that holds a secret must be private to its owner (no group or other permission bits), and a
// secret has exactly one source (NAME or NAME_FILE, not both). Nothing here logs a secret.
#pragma once

#include <string>
#include <string_view>

#include "common/Status.h"

namespace streamshop {

// Fatal, naming `path`, what it holds and the chmod that fixes it, when group or others have any permission on it.
Status RequirePrivate(const std::string& path, std::string_view holds);

// The first line of the file (a secret file ends with at most one newline; "\r\n" too), private as above.
Result<std::string> ReadSecretFile(const std::string& path);

// The secret named by environment variable `env_name` (e.g. STREAMSHOP_CLICKHOUSE_PASSWORD), or read from `file`
// (the value of a --…-password-file option or of `env_name`_FILE). Empty when neither is set; Fatal when both are.
Result<std::string> ResolveSecret(std::string_view env_name, const std::string& file);

}  // namespace streamshop
