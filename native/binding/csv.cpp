// N-API glue for the CSV parser (native/src/csv). Mirrored in lib/native/csv.ts.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common.h"
#include "csv/csv.h"
#include "registry.h"

namespace {

using rx::csv::Kind;

struct Bytes {
  const char* data;
  std::size_t len;
};

Bytes ArgBytes(const Napi::CallbackInfo& info, size_t i, const char* what) {
  Napi::Uint8Array a = rxb::ArgU8(info, i, what);
  return {reinterpret_cast<const char*>(a.Data()), a.ElementLength()};
}

char OptChar(const Napi::Object& o, const char* key, char dflt) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return dflt;
  if (!v.IsString()) rxb::ThrowRx(o.Env(), "RX_ARG", std::string("Expected a one-character string for ") + key + " but received " + rxb::TypeName(v));
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.empty()) return 0;
  if (s.size() != 1) rxb::ThrowRx(o.Env(), "RX_ARG", std::string("Expected a single ASCII character for ") + key + " but received \"" + s + "\"");
  return s[0];
}

rx::csv::Options ParseOptions(const Napi::Value& v) {
  rx::csv::Options o;
  if (!v.IsObject()) rxb::ThrowRx(v.Env(), "RX_ARG", "Expected an options object for csv options but received " + rxb::TypeName(v));
  Napi::Object obj = v.As<Napi::Object>();
  o.delim = OptChar(obj, "delimiter", ',');
  o.quote = OptChar(obj, "quote", '"');
  o.decimal = OptChar(obj, "decimal", '.');
  o.thousands = OptChar(obj, "thousands", 0);
  Napi::Value na = obj.Get("na");
  if (na.IsArray()) {
    o.na.clear();
    Napi::Array a = na.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) o.na.push_back(a.Get(i).As<Napi::String>().Utf8Value());
  }
  Napi::Value df = obj.Get("dateFormat");
  if (df.IsString()) o.dateFormat = df.As<Napi::String>().Utf8Value();
  Napi::Value tf = obj.Get("timeFormat");
  if (tf.IsString()) o.timeFormat = tf.As<Napi::String>().Utf8Value();
  Napi::Value st = obj.Get("strict");
  if (st.IsBoolean()) o.strict = st.As<Napi::Boolean>().Value();
  Napi::Value enc = obj.Get("encoding");
  if (enc.IsString()) {
    std::string e = enc.As<Napi::String>().Utf8Value();
    if (e == "latin1") o.encoding = rx::csv::Encoding::Latin1;
    else if (e == "windows-1252") o.encoding = rx::csv::Encoding::Windows1252;
    else if (e != "utf8") rxb::ThrowRx(v.Env(), "RX_ARG", "Expected 'utf8', 'latin1' or 'windows-1252' for csv encoding but received '" + e + "'");
  }
  Napi::Value ee = obj.Get("encodingErrors");
  if (ee.IsString()) o.replaceBadUtf8 = ee.As<Napi::String>().Utf8Value() == "replace";
  Napi::Value mb = obj.Get("minBytesPerThread");
  if (mb.IsNumber()) o.minBytesPerThread = static_cast<std::size_t>(std::max(1.0, mb.As<Napi::Number>().DoubleValue()));
  return o;
}

Napi::Object ErrorObject(Napi::Env env, const rx::csv::ParseError& e) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("code", e.code);
  o.Set("message", e.message);
  o.Set("line", Napi::Number::New(env, static_cast<double>(e.line)));
  o.Set("column", Napi::Number::New(env, e.column));
  o.Set("text", Napi::String::New(env, e.text));
  return o;
}

Napi::Value DetectDelimiter(const Napi::CallbackInfo& info) {
  return rxb::Guard(info.Env(), [&]() -> Napi::Value {
    Bytes b = ArgBytes(info, 0, "buffer");
    std::string q = rxb::ArgStr(info, 1, "quote");
    char d = rx::csv::detect_delimiter(b.data, b.len, q.empty() ? 0 : q[0]);
    return Napi::String::New(info.Env(), std::string(1, d));
  });
}

Napi::Value Sniff(const Napi::CallbackInfo& info) {
  return rxb::Guard(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    Bytes b = ArgBytes(info, 0, "buffer");
    bool final = rxb::ArgBool(info, 1, "final", false);
    rx::csv::Options opt = ParseOptions(info[2]);
    int64_t maxRows = rxb::ArgInt(info, 3, "maxRows");
    rx::csv::SniffResult r = rx::csv::sniff(b.data, b.len, final, opt, static_cast<std::size_t>(std::max<int64_t>(1, maxRows)));
    Napi::Object o = Napi::Object::New(env);
    if (!r.error.code.empty()) o.Set("error", ErrorObject(env, r.error));
    Napi::Array first = Napi::Array::New(env, r.firstRow.size());
    Napi::Uint32Array firstBits = Napi::Uint32Array::New(env, r.firstRowBits.size());
    for (size_t i = 0; i < r.firstRow.size(); ++i) {
      first.Set(static_cast<uint32_t>(i), Napi::String::New(env, r.firstRow[i]));
      firstBits[i] = r.firstRowBits[i];
    }
    Napi::Uint32Array bits = Napi::Uint32Array::New(env, r.cols.size());
    Napi::Float64Array nonMissing = Napi::Float64Array::New(env, r.cols.size());
    for (size_t j = 0; j < r.cols.size(); ++j) {
      bits[j] = r.cols[j].bits;
      nonMissing[j] = static_cast<double>(r.cols[j].nonMissing);
    }
    o.Set("firstRow", first);
    o.Set("firstRowBits", firstBits);
    o.Set("bits", bits);
    o.Set("nonMissing", nonMissing);
    o.Set("rows", Napi::Number::New(env, static_cast<double>(r.rows)));
    o.Set("firstRowEnd", Napi::Number::New(env, static_cast<double>(r.firstRowEnd)));
    o.Set("firstRowNewlines", Napi::Number::New(env, static_cast<double>(r.firstRowNewlines)));
    return o;
  });
}

// sniffMore(buffer, options, maxRows, bits: Uint32Array, nonMissing: Float64Array) -> rows used
Napi::Value SniffMore(const Napi::CallbackInfo& info) {
  return rxb::Guard(info.Env(), [&]() -> Napi::Value {
    Bytes b = ArgBytes(info, 0, "buffer");
    rx::csv::Options opt = ParseOptions(info[1]);
    int64_t maxRows = rxb::ArgInt(info, 2, "maxRows");
    if (!info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array)
      rxb::ThrowRx(info.Env(), "RX_ARG", "Expected Uint32Array for bits but received " + rxb::TypeName(info[3]));
    Napi::Uint32Array bits = info[3].As<Napi::Uint32Array>();
    Napi::Float64Array nm = rxb::ArgF64(info, 4, "nonMissing");
    std::vector<rx::csv::SniffColumn> cols(bits.ElementLength());
    for (size_t j = 0; j < cols.size(); ++j) cols[j].bits = bits[j], cols[j].nonMissing = static_cast<int64_t>(nm[j]);
    std::size_t used = rx::csv::sniff_more(b.data, b.len, opt, static_cast<std::size_t>(std::max<int64_t>(1, maxRows)), cols);
    for (size_t j = 0; j < cols.size(); ++j) bits[j] = cols[j].bits, nm[j] = static_cast<double>(cols[j].nonMissing);
    return Napi::Number::New(info.Env(), static_cast<double>(used));
  });
}

struct ParserBox {
  std::unique_ptr<rx::csv::Parser> parser;
  bool busy = false;
};

// createParser(options, kinds: Int32Array, levels: Array<string[] | null>)
Napi::Value CreateParser(const Napi::CallbackInfo& info) {
  return rxb::Guard(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    rx::csv::Options opt = ParseOptions(info[0]);
    Napi::Int32Array kinds = rxb::ArgI32(info, 1, "kinds");
    if (!info[2].IsArray()) rxb::ThrowRx(env, "RX_ARG", "Expected an array for levels but received " + rxb::TypeName(info[2]));
    Napi::Array lv = info[2].As<Napi::Array>();
    std::vector<rx::csv::ColumnSpec> specs(kinds.ElementLength());
    for (size_t j = 0; j < specs.size(); ++j) {
      int k = kinds[j];
      if (k < 0 || k > static_cast<int>(Kind::Timestamp)) rxb::ThrowRx(env, "RX_ARG", "Expected a column kind 0..10 but received " + std::to_string(k));
      specs[j].kind = static_cast<Kind>(k);
      Napi::Value l = j < lv.Length() ? lv.Get(static_cast<uint32_t>(j)) : env.Undefined();
      if (l.IsArray() && specs[j].kind == Kind::Factor) {
        Napi::Array a = l.As<Napi::Array>();
        specs[j].frozen = true;
        for (uint32_t i = 0; i < a.Length(); ++i) specs[j].levels.push_back(a.Get(i).As<Napi::String>().Utf8Value());
      }
    }
    auto* box = new ParserBox{std::make_unique<rx::csv::Parser>(std::move(opt), std::move(specs)), false};
    return Napi::External<ParserBox>::New(env, box, [](Napi::Env, ParserBox* p) { delete p; });
  });
}

std::size_t KindElemSize(Kind k) {
  switch (k) {
    case Kind::F64:
    case Kind::Timestamp: return 8;
    case Kind::F32:
    case Kind::I32:
    case Kind::Date:
    case Kind::Factor: return 4;
    case Kind::I16: return 2;
    case Kind::U8:
    case Kind::Bool: return 1;
    default: return 0;
  }
}

// Moves a vector into an external ArrayBuffer (no copy; freed with the buffer).
template <typename T>
Napi::ArrayBuffer Adopt(Napi::Env env, std::vector<T>&& v) {
  if (v.empty()) return Napi::ArrayBuffer::New(env, 0);
  auto* hold = new std::vector<T>(std::move(v));
  return Napi::ArrayBuffer::New(env, hold->data(), hold->size() * sizeof(T), [](Napi::Env, void*, std::vector<T>* h) { delete h; }, hold);
}

// parseBlock(parser, buffer: Uint8Array, length, final, firstLine, maxRows,
//            outs: Array<{ data?: TypedArray, valid?: Uint8Array } | null> | null, offset)
//   -> Promise<result>. Rows are written into outs[j].data / outs[j].valid at `offset`
//   (at most maxRows); strings come back as bytes + offsets. outs === null: rows discarded.
Napi::Value ParseBlock(const Napi::CallbackInfo& info) {
  return rxb::Guard(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsExternal()) rxb::ThrowRx(env, "RX_ARG", "Expected a csv parser handle but received " + rxb::TypeName(info[0]));
    ParserBox* box = info[0].As<Napi::External<ParserBox>>().Data();
    Napi::Uint8Array arr = rxb::ArgU8(info, 1, "buffer");
    int64_t len = rxb::ArgInt(info, 2, "length");
    if (len < 0 || static_cast<std::size_t>(len) > arr.ElementLength())
      rxb::ThrowRx(env, "RX_ARG", "Expected length within the buffer (0.." + std::to_string(arr.ElementLength()) + ") but received " + std::to_string(len));
    bool final = rxb::ArgBool(info, 3, "final", false);
    int64_t firstLine = rxb::ArgInt(info, 4, "firstLine");
    int64_t maxRows = rxb::ArgInt(info, 5, "maxRows");
    if (maxRows < 1) rxb::ThrowRx(env, "RX_ARG", "Expected maxRows >= 1 but received " + std::to_string(maxRows));
    int64_t offset = rxb::ArgInt(info, 7, "offset");
    if (offset < 0) rxb::ThrowRx(env, "RX_ARG", "Expected offset >= 0 but received " + std::to_string(offset));
    rx::csv::Parser* parser = box->parser.get();
    const std::size_t nc = parser->ncols();
    auto outs = std::make_shared<std::vector<rx::csv::OutColumn>>();
    bool discard = info[6].IsNull() || info[6].IsUndefined();
    if (!discard) {
      if (!info[6].IsArray()) rxb::ThrowRx(env, "RX_ARG", "Expected an array of output columns but received " + rxb::TypeName(info[6]));
      Napi::Array oa = info[6].As<Napi::Array>();
      if (oa.Length() != nc) rxb::ThrowRx(env, "RX_ARG", "Expected " + std::to_string(nc) + " output columns but received " + std::to_string(oa.Length()));
      outs->resize(nc);
      const std::size_t need = static_cast<std::size_t>(offset + maxRows);
      for (uint32_t j = 0; j < nc; ++j) {
        Napi::Value v = oa.Get(j);
        if (!v.IsObject()) continue;
        Napi::Object o = v.As<Napi::Object>();
        Kind k = parser->kind(j);
        Napi::Value d = o.Get("data");
        if (d.IsTypedArray()) {
          Napi::TypedArray t = d.As<Napi::TypedArray>();
          std::size_t es = KindElemSize(k);
          if (es == 0 || t.ElementSize() != es || t.ElementLength() < need)
            rxb::ThrowRx(env, "RX_ARG", "output column " + std::to_string(j) + ": expected a typed array of " + std::to_string(es) + "-byte elements with room for " +
                                            std::to_string(need) + " rows");
          (*outs)[j].data = static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
        }
        Napi::Value vv = o.Get("valid");
        if (vv.IsTypedArray()) {
          Napi::TypedArray t = vv.As<Napi::TypedArray>();
          if (t.ElementSize() != 1 || t.ElementLength() < need)
            rxb::ThrowRx(env, "RX_ARG", "output column " + std::to_string(j) + ": expected a Uint8Array valid with room for " + std::to_string(need) + " rows");
          (*outs)[j].valid = static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
        }
      }
    }
    if (box->busy) rxb::ThrowRx(env, "RX_INTERNAL", "csv parser is already parsing a block");
    box->busy = true;
    const char* data = reinterpret_cast<const char*>(arr.Data());
    auto result = std::make_shared<rx::csv::BlockResult>();
    std::vector<Napi::Value> keep{info[0], info[1]};
    if (!discard) keep.push_back(info[6]);
    return rxb::RunAsync(
        env,
        [=]() {
          try {
            *result = parser->parse(data, static_cast<std::size_t>(len), final, firstLine, static_cast<std::size_t>(maxRows), discard ? nullptr : outs.get(),
                                    static_cast<std::size_t>(offset));
          } catch (...) {
            box->busy = false;
            throw;
          }
          box->busy = false;
        },
        [result](Napi::Env env) -> Napi::Value {
          rx::csv::BlockResult& r = *result;
          Napi::Object o = Napi::Object::New(env);
          o.Set("consumed", Napi::Number::New(env, static_cast<double>(r.consumed)));
          o.Set("rows", Napi::Number::New(env, static_cast<double>(r.rows)));
          o.Set("newlines", Napi::Number::New(env, static_cast<double>(r.newlines)));
          o.Set("serialFallback", Napi::Boolean::New(env, r.serialFallback));
          if (!r.error.code.empty()) {
            o.Set("error", ErrorObject(env, r.error));
            return o;
          }
          Napi::Array cols = Napi::Array::New(env, r.cols.size());
          for (size_t j = 0; j < r.cols.size(); ++j) {
            rx::csv::ColumnOut& c = r.cols[j];
            if (c.kind == Kind::Skip) {
              cols.Set(static_cast<uint32_t>(j), env.Null());
              continue;
            }
            Napi::Object co = Napi::Object::New(env);
            co.Set("anyMissing", Napi::Boolean::New(env, c.anyMissing));
            if (c.kind == Kind::String) {
              std::size_t nb = c.bytes.size(), no = c.offsets.size();
              co.Set("bytes", Napi::Uint8Array::New(env, nb, Adopt(env, std::move(c.bytes)), 0));
              co.Set("offsets", Napi::Int32Array::New(env, no, Adopt(env, std::move(c.offsets)), 0));
              co.Set("ascii", Napi::Boolean::New(env, c.ascii));
              if (c.dict) {
                std::size_t nr = c.codes.size();
                co.Set("codes", Napi::Int32Array::New(env, nr, Adopt(env, std::move(c.codes)), 0));
              }
            }
            if (c.kind == Kind::Factor) {
              Napi::Array nl = Napi::Array::New(env, c.newLevels.size());
              for (size_t k = 0; k < c.newLevels.size(); ++k) nl.Set(static_cast<uint32_t>(k), Napi::String::New(env, c.newLevels[k]));
              co.Set("newLevels", nl);
            }
            co.Set("conflicts", Napi::Number::New(env, static_cast<double>(c.conflicts)));
            if (c.conflicts) {
              co.Set("conflictLine", Napi::Number::New(env, static_cast<double>(c.conflictLine)));
              co.Set("conflictText", Napi::String::New(env, c.conflictText));
            }
            if (c.badUtf8) {
              co.Set("badUtf8", Napi::Number::New(env, static_cast<double>(c.badUtf8)));
              co.Set("badUtf8Line", Napi::Number::New(env, static_cast<double>(c.badUtf8Line)));
              co.Set("badUtf8Text", Napi::Buffer<char>::Copy(env, c.badUtf8Text.data(), c.badUtf8Text.size()).ToString());
            }
            cols.Set(static_cast<uint32_t>(j), co);
          }
          o.Set("columns", cols);
          return o;
        },
        keep);
  });
}

// parseDate(text, format) -> days since epoch or null; parseTime(text, format) -> ms or null
Napi::Value ParseDate(const Napi::CallbackInfo& info) {
  return rxb::Guard(info.Env(), [&]() -> Napi::Value {
    std::string s = rxb::ArgStr(info, 0, "text");
    std::string f = rxb::ArgStr(info, 1, "format");
    int32_t d;
    if (!rx::csv::parse_date(s.data(), s.size(), f, d)) return info.Env().Null();
    return Napi::Number::New(info.Env(), d);
  });
}

Napi::Value ParseTime(const Napi::CallbackInfo& info) {
  return rxb::Guard(info.Env(), [&]() -> Napi::Value {
    std::string s = rxb::ArgStr(info, 0, "text");
    std::string f = rxb::ArgStr(info, 1, "format");
    double ms;
    if (!rx::csv::parse_time(s.data(), s.size(), f, ms)) return info.Env().Null();
    return Napi::Number::New(info.Env(), ms);
  });
}

}  // namespace

RXB_MODULE(csv) {
  exports.Set("csvDetectDelimiter", Napi::Function::New(env, DetectDelimiter));
  exports.Set("csvSniff", Napi::Function::New(env, Sniff));
  exports.Set("csvSniffMore", Napi::Function::New(env, SniffMore));
  exports.Set("csvCreateParser", Napi::Function::New(env, CreateParser));
  exports.Set("csvParseBlock", Napi::Function::New(env, ParseBlock));
  exports.Set("csvParseDate", Napi::Function::New(env, ParseDate));
  exports.Set("csvParseTime", Napi::Function::New(env, ParseTime));
}
