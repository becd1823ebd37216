#include "core/engine/url.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <charconv>
#include <string>

namespace tessera::detail {

Result<Url> parse_url(std::string_view text) {
  auto parsed = boost::urls::parse_uri(boost::core::string_view(text.data(), text.size()));
  if (!parsed) {
    // Report the scheme only: the rest may hold a password.
    const auto colon = text.find(':');
    return Error(ErrorKind::invalid_url,
                 "cannot parse database URL (scheme '" +
                     std::string(colon == std::string_view::npos ? std::string_view("?")
                                                                 : text.substr(0, colon)) +
                     "'): " + parsed.error().message());
  }
  const boost::urls::url_view& u = *parsed;
  Url out;
  out.text = std::string(text);
  out.scheme = std::string(u.scheme());
  for (auto& c : out.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  out.has_authority = u.has_authority();
  out.user = std::string(u.user());
  out.password = std::string(u.password());
  out.host = std::string(u.host());
  if (u.has_port()) {
    const auto p = u.port();
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
    if (ec != std::errc() || ptr != p.data() + p.size() || value > 65535)
      return Error(ErrorKind::invalid_url, "invalid port in database URL: " + std::string(p));
    out.port = static_cast<std::uint16_t>(value);
  }
  out.path = std::string(u.path());
  for (auto param : u.params())
    out.query.emplace_back(std::string(param.key), std::string(param.value));
  return out;
}

}  // namespace tessera::detail
