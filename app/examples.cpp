#include "examples.h"

#include "flow/flowcatalog.h"
#include "flow/taskkind.h"
#include "run/taskcontext.h"

#include <QCryptographicHash>
#include <QJsonArray>

namespace flowdeck {

namespace {

//! Example of a custom kind: hashes a text `rounds` times on the blocking pool.
class ChecksumKind final : public TaskKind {
public:
    QString name() const override { return QStringLiteral("checksum"); }
    QString summary() const override
    {
        return QStringLiteral("Example custom kind: SHA-256 of a text, repeated, on the blocking pool.");
    }
    QList<FieldSpec> fields() const override
    {
        return {FieldSpec{
                    QStringLiteral("text"), FieldType::String, true, {}, {}, QStringLiteral("text to hash")},
                FieldSpec{QStringLiteral("rounds"), FieldType::Integer, false, 1.0, 1e9,
                          QStringLiteral("hash rounds")}};
    }
    QCoro::Task<TaskOutcome> run(TaskContext& ctx) const override
    {
        const QByteArray text = ctx.config().value(QStringLiteral("text")).toString().toUtf8();
        const qint64 rounds = ctx.config().value(QStringLiteral("rounds")).toInteger(1);
        // A named awaiter: GCC 12 destroys temporaries of a co_await expression twice.
        auto hashing = ctx.runBlocking([text, rounds](const CancelToken& token) {
            QByteArray value = text;
            for (qint64 i = 0; i < rounds && !token.isCancelled(); ++i)
                value = QCryptographicHash::hash(value, QCryptographicHash::Sha256);
            return value.toHex();
        });
        const QByteArray digest = co_await hashing;
        ctx.log(LogLevel::Info,
                QStringLiteral("sha256^%1 = %2").arg(rounds).arg(QString::fromLatin1(digest)));
        co_return TaskOutcome::success(QString::fromLatin1(digest));
    }
};

} // namespace

void registerExamples()
{
    TaskKindRegistry::instance().add(std::make_unique<ChecksumKind>());

    FlowCatalog::instance().add(
        FlowBuilder(QStringLiteral("code-demo"))
            .description(QStringLiteral(
                "A flow defined in C++ (app/examples.cpp) using the custom kind \"checksum\"."))
            .parameter(QStringLiteral("parts"), 4)
            .parameter(QStringLiteral("rounds"), 20000)
            .task(QStringLiteral("prepare"), QStringLiteral("sleep"), {{QStringLiteral("seconds"), 0.2}})
            .task(QStringLiteral("hash"), QStringLiteral("checksum"),
                  {{QStringLiteral("text"), QStringLiteral("part {{map_index}}")},
                   {QStringLiteral("rounds"), QStringLiteral("{{rounds}}")},
                   {QStringLiteral("map"), QStringLiteral("{{parts}}")},
                   {QStringLiteral("depends_on"), QJsonArray{QStringLiteral("prepare")}}})
            .task(QStringLiteral("report"), QStringLiteral("shell"),
                  {{QStringLiteral("command"),
                    QJsonArray{QStringLiteral("echo"), QStringLiteral("{{parts}} parts hashed")}},
                   {QStringLiteral("depends_on"), QJsonArray{QStringLiteral("hash")}}})
            .document());
}

} // namespace flowdeck
