// Where secrets come from (environment, private files, URL userinfo) and the one rule for files that hold them.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "clickhouse/ClickHouseClient.h"
#include "common/Secrets.h"
#include "common/Url.h"
#include "kafka/KafkaConfig.h"

namespace streamshop {
namespace {

class SecretFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text, mode_t mode) {
    const auto path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("secrets_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::filesystem::remove_all(dir_);
    ::unsetenv("SECRETS_TEST_PASSWORD");
  }
  std::filesystem::path dir_;
};

TEST_F(SecretFileTest, ReadsTheFirstLineOfAPrivateFile) {
  auto secret = ReadSecretFile(Write("pw", "p?#/@:%w\r\nignored\n", 0600));
  ASSERT_TRUE(secret.ok()) << secret.status().message();
  EXPECT_EQ(*secret, "p?#/@:%w");
  auto no_newline = ReadSecretFile(Write("pw2", "s3cret", 0400));
  ASSERT_TRUE(no_newline.ok());
  EXPECT_EQ(*no_newline, "s3cret");
}

TEST_F(SecretFileTest, RefusesAFileOthersMayRead) {
  const auto path = Write("pw", "s3cret\n", 0640);
  auto secret = ReadSecretFile(path);
  ASSERT_FALSE(secret.ok());
  EXPECT_NE(secret.status().message().find("mode 0640): run chmod 600 " + path), std::string::npos)
      << secret.status().message();
  EXPECT_EQ(secret.status().message().find("s3cret"), std::string::npos);
  EXPECT_FALSE(ReadSecretFile(Write("empty", "", 0600)).ok());
  EXPECT_FALSE(ReadSecretFile((dir_ / "missing").string()).ok());
}

TEST_F(SecretFileTest, ResolveTakesTheVariableOrTheFileNeverBoth) {
  auto none = ResolveSecret("SECRETS_TEST_PASSWORD", "");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, "");
  ::setenv("SECRETS_TEST_PASSWORD", "from-env", 1);
  auto env = ResolveSecret("SECRETS_TEST_PASSWORD", "");
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(*env, "from-env");
  const auto file = Write("pw", "from-file\n", 0600);
  auto both = ResolveSecret("SECRETS_TEST_PASSWORD", file);
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.status().message().find("use one"), std::string::npos);
  ::unsetenv("SECRETS_TEST_PASSWORD");
  auto from_file = ResolveSecret("SECRETS_TEST_PASSWORD", file);
  ASSERT_TRUE(from_file.ok());
  EXPECT_EQ(*from_file, "from-file");
}

TEST_F(SecretFileTest, KafkaPropFileLinesCommentsAndPrivacy) {
  const std::string text =
      "# SASL over TLS\n\n security.protocol = SASL_SSL\nsasl.mechanisms=SCRAM-SHA-512\nsasl.password=a=b?#/@:%\n";
  auto props = kafka::ReadKafkaPropFile(Write("private.properties", text, 0600));
  ASSERT_TRUE(props.ok()) << props.status().message();
  const kafka::KafkaProps expected{
      {"security.protocol", "SASL_SSL"}, {"sasl.mechanisms", "SCRAM-SHA-512"}, {"sasl.password", "a=b?#/@:%"}};
  EXPECT_EQ(*props, expected);

  auto shared = kafka::ReadKafkaPropFile(Write("shared.properties", text, 0644));
  ASSERT_FALSE(shared.ok());
  EXPECT_NE(shared.status().message().find("chmod 600"), std::string::npos);
  EXPECT_EQ(shared.status().message().find("a=b?"), std::string::npos);
  // Without a secret, a readable file is fine.
  EXPECT_TRUE(kafka::ReadKafkaPropFile(Write("plain.properties", "acks=all\n", 0644)).ok());

  auto malformed = kafka::ReadKafkaPropFile(Write("bad.properties", "acks=all\nsasl.password\n", 0600));
  ASSERT_FALSE(malformed.ok());
  EXPECT_NE(malformed.status().message().find("bad.properties:2: expected key=value"), std::string::npos)
      << malformed.status().message();
}

TEST(SplitUserInfoTest, DecodesUserAndPasswordAndRemovesThem) {
  auto s = SplitUserInfo("https://writer:p%3F%23%2F%40%3A%25w@ch.example:8443/x");
  EXPECT_EQ(s.url, "https://ch.example:8443/x");
  EXPECT_EQ(s.user, "writer");
  EXPECT_EQ(s.password, "p?#/@:%w");
  auto user_only = SplitUserInfo("http://reader@127.0.0.1:8123");
  EXPECT_EQ(user_only.url, "http://127.0.0.1:8123");
  EXPECT_EQ(user_only.user, "reader");
  EXPECT_EQ(user_only.password, "");
  auto none = SplitUserInfo("http://127.0.0.1:8123/?q=a@b");
  EXPECT_EQ(none.url, "http://127.0.0.1:8123/?q=a@b");
  EXPECT_EQ(none.user, "");
  // A malformed escape stays as written.
  EXPECT_EQ(SplitUserInfo("http://u:50%zz%4@h").password, "50%zz%4");
}

}  // namespace
}  // namespace streamshop
