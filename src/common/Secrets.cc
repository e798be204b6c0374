#include "common/Secrets.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace streamshop {

Status RequirePrivate(const std::string& path, std::string_view holds) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::Fatal(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  }
  if ((st.st_mode & 077) == 0) return Status::Ok();
  return Status::Fatal(fmt::format("{} holds {} and others may read it (mode {:04o}): run chmod 600 {}", path, holds,
                                   st.st_mode & 07777, path));
}

Result<std::string> ReadSecretFile(const std::string& path) {
  SS_RETURN_IF_ERROR(RequirePrivate(path, "a secret"));
  std::ifstream in(path, std::ios::binary);
  std::string secret;
  if (!in || !std::getline(in, secret)) {
    return Status::Fatal(fmt::format("cannot read a secret from {}: the file is empty or unreadable", path));
  }
  if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  return secret;
}

Result<std::string> ResolveSecret(std::string_view env_name, const std::string& file) {
  const char* value = std::getenv(std::string(env_name).c_str());
  const bool from_env = value != nullptr && *value != '\0';
  if (from_env && !file.empty()) {
    return Status::Fatal(fmt::format("{} and a password file ({}) are both set: use one", env_name, file));
  }
  if (!file.empty()) return ReadSecretFile(file);
  return std::string(from_env ? value : "");
}

}  // namespace streamshop
