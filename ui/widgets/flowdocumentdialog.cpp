#include "widgets/flowdocumentdialog.h"

#include <QClipboard>
#include <QDialogButtonBox>
#include <QFontDatabase>
#include <QGuiApplication>
#include <QJsonDocument>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QVBoxLayout>

#include <algorithm>

namespace flowdeck {

FlowDocumentDialog::FlowDocumentDialog(const QString& flowName, const QString& runId, QWidget* parent)
    : QDialog(parent)
    , m_status(new QLabel(this))
    , m_text(new QPlainTextEdit(this))
    , m_copy(new QPushButton(tr("&Copy"), this))
{
    setObjectName(QStringLiteral("flowDocumentDialog"));
    setWindowTitle(tr("Flow Document of %1 (%2)").arg(flowName, runId));
    m_status->setObjectName(QStringLiteral("documentStatus"));
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_status->setText(tr("Reading the document from the database…"));
    m_text->setObjectName(QStringLiteral("documentText"));
    m_text->setReadOnly(true);
    m_text->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_text->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_text->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    m_text->hide();
    m_copy->setObjectName(QStringLiteral("copyDocument"));
    m_copy->setToolTip(tr("Copy the whole document to the clipboard"));
    m_copy->setEnabled(false);
    connect(m_copy, &QPushButton::clicked, this,
            [this] { QGuiApplication::clipboard()->setText(m_text->toPlainText()); });

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    buttons->addButton(m_copy, QDialogButtonBox::ActionRole);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_status);
    layout->addWidget(m_text, 1);
    layout->addWidget(buttons);
    // Room for a typical document; a smaller screen gets the dialog shrunk by its window.
    const QFontMetrics fm(m_text->font());
    resize(std::max(420, fm.averageCharWidth() * 72), fm.lineSpacing() * 24);
}

FlowDocumentDialog::~FlowDocumentDialog() = default;

void FlowDocumentDialog::setDocument(const QJsonObject& document)
{
    m_text->setPlainText(
        QString::fromUtf8(QJsonDocument(document).toJson(QJsonDocument::Indented)).trimmed());
    m_status->setText(tr("As the run was started, before its parameters were substituted."));
    m_text->show();
    m_copy->setEnabled(true);
}

void FlowDocumentDialog::setError(const QString& error)
{
    m_text->clear();
    m_text->hide();
    m_copy->setEnabled(false);
    m_status->setText(error);
}

QString FlowDocumentDialog::text() const
{
    return m_text->isHidden() ? QString() : m_text->toPlainText();
}

} // namespace flowdeck
