#include "kinds/httpkind.h"

#include "flow/jsonpath.h"
#include "flow/references.h"
#include "flow/taskkind.h"
#include "kinds/kindhelpers.h"
#include "run/flowrun.h"
#include "run/taskcontext.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>

#include <algorithm>
#include <climits>

namespace flowdeck {

namespace {

using namespace detail;

//! Whether \a text holds CR, LF or NUL: in a header or the request line they would end it and let
//! the rest be read as headers of its own (header injection).
bool hasLineBreak(const QString& text)
{
    return std::any_of(text.cbegin(), text.cend(),
                       [](QChar c) { return c == u'\r' || c == u'\n' || c == u'\0'; });
}

//! The places in a task's url, method and headers that hold CR, LF or NUL, as paths under \a path.
QStringList lineBreakPlaces(const QJsonObject& cfg, const QString& path)
{
    QStringList places;
    for (QLatin1String key : {QLatin1String("url"), QLatin1String("method")}) {
        if (hasLineBreak(cfg.value(key).toString()))
            places << childPath(path, key);
    }
    const QJsonObject headers = cfg.value(QStringLiteral("headers")).toObject();
    for (auto it = headers.begin(); it != headers.end(); ++it) {
        if (hasLineBreak(it.key()) || hasLineBreak(it.value().toString())) {
            QString shown = it.key(); // a name's own line breaks, visible in the place
            shown.replace(u'\r', QStringLiteral("\\r")).replace(u'\n', QStringLiteral("\\n"));
            shown.replace(QChar(u'\0'), QStringLiteral("\\0"));
            places << childPath(childPath(path, QStringLiteral("headers")), shown);
        }
    }
    return places;
}

const QString LineBreakMessage = QStringLiteral("contains a line break or NUL byte (CR, LF or NUL)");

//! Sets the request's headers from the task's fields and returns its body; an object body is sent
//! as JSON.
QByteArray prepareRequest(const QJsonObject& cfg, QNetworkRequest& request)
{
    const QJsonObject headers = cfg.value(QStringLiteral("headers")).toObject();
    for (auto it = headers.begin(); it != headers.end(); ++it)
        request.setRawHeader(it.key().toUtf8(), it.value().toString().toUtf8());
    const QJsonValue body = cfg.value(QStringLiteral("body"));
    if (body.isObject()) {
        if (!request.hasRawHeader("Content-Type"))
            request.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
        return QJsonDocument(body.toObject()).toJson(QJsonDocument::Compact);
    }
    if (body.isString())
        return body.toString().toUtf8();
    return {};
}

//! Whether \a code is what "expect_status" asks for (any 2xx without it); \a expectedText says what
//! that is, for the failure message.
bool isExpectedStatus(const QJsonValue& expect, int code, QString& expectedText)
{
    if (expect.isArray()) {
        QStringList codes;
        bool expected = false;
        for (const QJsonValue& v : expect.toArray()) {
            codes << QString::number(v.toInt());
            expected = expected || v.toInt() == code;
        }
        expectedText = codes.join(QStringLiteral(" or "));
        return expected;
    }
    if (expect.isDouble()) {
        expectedText = QString::number(expect.toInt());
        return expect.toInt() == code;
    }
    expectedText = QStringLiteral("2xx");
    return code >= 200 && code < 300;
}

constexpr double DefaultIdleTimeout = 30.0;

//! {"status", "headers", "body"}: the body parsed when the response says it is JSON and parses
//! whole, else its text.
QJsonObject httpResult(int code, const QJsonObject& headers, const QByteArray& data, bool truncated)
{
    QJsonValue body = QString::fromUtf8(data);
    if (!truncated
        && headers.value(QStringLiteral("content-type")).toString().contains(QStringLiteral("json"))) {
        QString error;
        if (const std::optional<QJsonValue> parsed = parseJsonValue(data, &error))
            body = *parsed;
    }
    return QJsonObject{{QStringLiteral("status"), code},
                       {QStringLiteral("headers"), headers},
                       {QStringLiteral("body"), body}};
}

class HttpKind final : public TaskKind {
public:
    static constexpr qint64 DefaultBodyLimit = 64 * 1024;

    QString name() const override { return QStringLiteral("http"); }
    QString summary() const override
    {
        return QStringLiteral("HTTP request; fails on network or TLS errors or an unexpected status.");
    }
    QList<FieldSpec> fields() const override
    {
        return {field(u"url", FieldType::String, true),
                field(u"method", FieldType::String),
                field(u"headers", FieldType::StringMap),
                field(u"body", FieldType::StringOrObject),
                field(u"expect_status", FieldType::IntegerOrList, false, 100, 599, u"default: any 2xx"),
                field(u"max_body_bytes", FieldType::Integer, false, 0.0, {},
                      u"bytes of the response kept as result; reading stops there"),
                field(u"idle_timeout_s", FieldType::Number, false, 0.0, {},
                      u"seconds without a byte from the server before the request fails; default 30 "
                      u"when the task has no timeout_s, none when it has; 0: wait forever")};
    }
    void validate(const QJsonObject& config, const QString& path, ValidationErrors& errors) const override
    {
        // Checked on the text as written; values substituted at run time are checked by run().
        for (const QString& place : lineBreakPlaces(config, path))
            errors.append({place, LineBreakMessage});
        const QJsonValue url = config.value(QStringLiteral("url"));
        if (url.isString() && !url.toString().contains(QStringLiteral("{{"))) {
            const QUrl parsed(url.toString(), QUrl::StrictMode);
            if (!parsed.isValid() || (parsed.scheme() != u"http" && parsed.scheme() != u"https"))
                errors.append({path + QStringLiteral(".url"),
                               QStringLiteral("not an http(s) URL: \"%1\"").arg(url.toString())});
        }
    }
    QCoro::Task<TaskOutcome> run(TaskContext& ctx) const override
    {
        const QJsonObject& cfg = ctx.config();
        const QStringList unsafe = lineBreakPlaces(cfg, QString());
        if (!unsafe.isEmpty())
            co_return TaskOutcome::failure(QStringLiteral("%1 %2").arg(unsafe.first(), LineBreakMessage));
        const QUrl url(cfg.value(QStringLiteral("url")).toString());
        const QByteArray method
            = cfg.value(QStringLiteral("method")).toString(QStringLiteral("GET")).toUpper().toUtf8();
        const qint64 limit = cfg.value(QStringLiteral("max_body_bytes")).toInteger(DefaultBodyLimit);
        QNetworkRequest request(url);
        const int idleMs = httpTransferTimeoutMs(cfg, ctx.run().node->def->timeoutSeconds > 0);
        request.setTransferTimeout(idleMs);
        const QByteArray body = prepareRequest(cfg, request);
        QNetworkReply* reply = ctx.network().sendCustomRequest(request, method, body);
        // Qt buffers at most this much ahead of the reads below, whatever the body's size.
        reply->setReadBufferSize(std::max<qint64>(limit + 1, 16 * 1024));
        QByteArray data;
        bool truncated = false;
        QVariant status;
        auto read = [&] {
            if (!reply->isOpen() || truncated)
                return; // aborted on cancel, timeout or the limit: reading would only warn
            const qint64 room = limit - data.size();
            data.append(reply->read(room));
            if (reply->bytesAvailable() > 0) {
                // Past the limit: the rest of the body is neither read nor waited for.
                truncated = true;
                status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute);
                reply->abort();
            }
        };
        QObject::connect(reply, &QNetworkReply::readyRead, read);
        QObject::connect(reply, &QNetworkReply::finished, [&ctx] { ctx.wake(); });
        ctx.setInterruptHandler([reply] { reply->abort(); });
        co_await ctx.waitForWake();
        ctx.clearInterruptHandler();
        read();
        if (!truncated)
            status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute);
        QJsonObject headers;
        for (const auto& [name, value] : reply->rawHeaderPairs())
            headers.insert(QString::fromLatin1(name).toLower(), QString::fromUtf8(value));
        const QNetworkReply::NetworkError error = reply->error();
        const QString errorText = reply->errorString();
        reply->disconnect();
        reply->deleteLater();
        ctx.throwIfInterrupted();

        const QString what = QString::fromUtf8(method) + u' ' + url.toDisplayString();
        const bool idleTimedOut = !truncated && idleMs > 0
            && (error == QNetworkReply::OperationCanceledError || error == QNetworkReply::TimeoutError);
        if (idleTimedOut)
            co_return TaskOutcome::failure(QStringLiteral("%1 failed: no data from the server for %2 s "
                                                          "(idle_timeout_s)")
                                               .arg(what, secondsText(idleMs / 1000.0)));
        if (!status.isValid())
            co_return TaskOutcome::failure(QStringLiteral("%1 failed: %2").arg(what, errorText));
        const int code = status.toInt();
        QString expectedText;
        const bool expected
            = isExpectedStatus(cfg.value(QStringLiteral("expect_status")), code, expectedText);
        ctx.log(LogLevel::Info,
                QStringLiteral("%1 -> %2 (%3 bytes%4)")
                    .arg(what)
                    .arg(code)
                    .arg(data.size())
                    .arg(truncated ? QStringLiteral(", truncated") : QString()));
        if (!expected)
            co_return TaskOutcome::failure(
                QStringLiteral("%1 returned status %2, expected %3").arg(what).arg(code).arg(expectedText));
        co_return TaskOutcome::success(httpResult(code, headers, data, truncated),
                                       QStringLiteral("status %1").arg(code));
    }
};

} // namespace

int httpTransferTimeoutMs(const QJsonObject& config, bool hasTaskTimeout)
{
    // Without timeout_s (the engine's deadline for the whole run) a server that never answers
    // would hold the run forever: a transfer timeout of the request itself bounds each wait.
    const double idle
        = config.value(QStringLiteral("idle_timeout_s")).toDouble(hasTaskTimeout ? 0.0 : DefaultIdleTimeout);
    return int(std::clamp(idle * 1000.0, 0.0, double(INT_MAX)));
}

std::unique_ptr<TaskKind> makeHttpKind()
{
    return std::make_unique<HttpKind>();
}

} // namespace flowdeck
