#include "kinds/httpkind.h"

#include "flow/taskkind.h"
#include "kinds/kindhelpers.h"
#include "run/taskcontext.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>

#include <algorithm>

namespace flowdeck {

namespace {

using namespace detail;

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
                      u"bytes of the response kept as result")};
    }
    void validate(const QJsonObject& config, const QString& path, ValidationErrors& errors) const override
    {
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
        const QUrl url(cfg.value(QStringLiteral("url")).toString());
        const QByteArray method
            = cfg.value(QStringLiteral("method")).toString(QStringLiteral("GET")).toUpper().toUtf8();
        const qint64 limit = cfg.value(QStringLiteral("max_body_bytes")).toInteger(DefaultBodyLimit);
        QNetworkRequest request(url);
        const QByteArray body = prepareRequest(cfg, request);
        QNetworkReply* reply = ctx.network().sendCustomRequest(request, method, body);
        QByteArray data;
        bool truncated = false;
        auto read = [&] {
            if (!reply->isOpen())
                return; // aborted on cancel or timeout: reading would only warn
            const QByteArray chunk = reply->readAll();
            const qint64 room = limit - data.size();
            if (chunk.size() > room)
                truncated = true;
            data.append(chunk.left(std::max<qint64>(0, room)));
        };
        QObject::connect(reply, &QNetworkReply::readyRead, read);
        QObject::connect(reply, &QNetworkReply::finished, [&ctx] { ctx.wake(); });
        ctx.setInterruptHandler([reply] { reply->abort(); });
        co_await ctx.waitForWake();
        ctx.clearInterruptHandler();
        read();
        const QVariant status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute);
        const QString errorText = reply->errorString();
        reply->disconnect();
        reply->deleteLater();
        ctx.throwIfInterrupted();

        const QString what = QString::fromUtf8(method) + u' ' + url.toDisplayString();
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
        co_return TaskOutcome::success(QString::fromUtf8(data), QStringLiteral("status %1").arg(code));
    }
};

} // namespace

std::unique_ptr<TaskKind> makeHttpKind()
{
    return std::make_unique<HttpKind>();
}

} // namespace flowdeck
