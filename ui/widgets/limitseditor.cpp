#include "widgets/limitseditor.h"

#include "context/appcontext.h"
#include "models/concurrencymodel.h"
#include "style/icons.h"
#include "style/statestyle.h"
#include "widgets/progressdelegate.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QIntValidator>
#include <QItemSelectionModel>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTableView>
#include <QVBoxLayout>

#include <algorithm>

namespace flowdeck {

LimitsEditor::LimitsEditor(AppContext* context, bool compact, QWidget* parent)
    : QWidget(parent)
    , m_context(context)
    , m_model(new ConcurrencyModel(context, this))
    , m_view(new QTableView(this))
    , m_tag(new QLineEdit(this))
    , m_limit(new QLineEdit(this))
    , m_set(new QPushButton(themedIcon(QStringLiteral("list-add"), QStyle::SP_FileDialogNewFolder),
                            tr("&Set Limit"), this))
    , m_delete(new QPushButton(themedIcon(QStringLiteral("list-remove"), QStyle::SP_TrashIcon), tr("&Delete"),
                               this))
    , m_message(new QLabel(this))
{
    setObjectName(QStringLiteral("limitsEditor"));
    m_view->setObjectName(QStringLiteral("limitsView"));
    m_view->setModel(m_model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed
                            | QAbstractItemView::AnyKeyPressed);
    m_view->setAlternatingRowColors(true);
    m_view->verticalHeader()->hide();
    m_view->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 10);
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->horizontalHeader()->resizeSection(ConcurrencyModel::TagColumn, 160);
    m_view->horizontalHeader()->resizeSection(ConcurrencyModel::LimitColumn, 70);
    if (compact) {
        for (int c :
             {ConcurrencyModel::ActiveColumn, ConcurrencyModel::WaitingColumn, ConcurrencyModel::UsageColumn})
            m_view->hideColumn(c);
    } else {
        m_view->horizontalHeader()->resizeSection(ConcurrencyModel::ActiveColumn, 120);
        m_view->horizontalHeader()->resizeSection(ConcurrencyModel::WaitingColumn, 120);
        m_view->setItemDelegateForColumn(ConcurrencyModel::UsageColumn, new ProgressDelegate(m_view));
    }

    m_tag->setObjectName(QStringLiteral("limitTag"));
    m_tag->setPlaceholderText(tr("tag, e.g. database"));
    m_tag->setMinimumWidth(120);
    m_limit->setObjectName(QStringLiteral("limitValue"));
    m_limit->setPlaceholderText(tr("limit"));
    m_limit->setMaximumWidth(90);
    // Room for the placeholder and a six-figure limit, also when the row is squeezed.
    m_limit->setMinimumWidth(
        std::min(90, m_limit->fontMetrics().horizontalAdvance(QStringLiteral("999999")) + 16));
    m_set->setObjectName(QStringLiteral("setLimitButton"));
    m_delete->setObjectName(QStringLiteral("deleteLimitButton"));
    m_delete->setEnabled(false);
    m_message->setObjectName(QStringLiteral("limitMessage"));
    m_message->setWordWrap(true);
    m_message->setTextFormat(Qt::RichText); // messages are escaped: quotes show as quotes
    m_message->hide();

    auto* row = new QHBoxLayout;
    row->setContentsMargins(0, 0, 0, 0);
    row->addWidget(new QLabel(tr("Tag:"), this));
    row->addWidget(m_tag, 1);
    row->addWidget(new QLabel(tr("Limit:"), this));
    row->addWidget(m_limit);
    row->addWidget(m_set);
    row->addWidget(m_delete);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_view, 1);
    layout->addLayout(row);
    layout->addWidget(m_message);

    connect(m_set, &QPushButton::clicked, this, &LimitsEditor::submit);
    // Return in either field sets the limit and goes no further: in a dialog it would also press the
    // default button and close it, dropping a refused entry with its message.
    m_tag->installEventFilter(this);
    m_limit->installEventFilter(this);
    connect(m_delete, &QPushButton::clicked, this, &LimitsEditor::removeCurrent);
    connect(m_model, &ConcurrencyModel::invalidInput, this, &LimitsEditor::showError);
    connect(m_view->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this] {
        const QString tag = currentTag();
        m_delete->setEnabled(!tag.isEmpty());
        if (const TagRow* row = m_model->rowAt(m_model->rowOf(tag))) {
            m_tag->setText(row->tag);
            m_limit->setText(QString::number(row->limit));
        }
        Q_EMIT currentTagChanged(tag);
    });
    connect(&context->database(), &DatabaseConnection::error, this, [this](const QString& text) {
        if (isVisible())
            showError(text);
    });
}

LimitsEditor::~LimitsEditor() = default;

bool LimitsEditor::eventFilter(QObject* watched, QEvent* event)
{
    if ((watched == m_tag || watched == m_limit) && event->type() == QEvent::KeyPress) {
        const int key = static_cast<QKeyEvent*>(event)->key();
        if (key == Qt::Key_Return || key == Qt::Key_Enter) {
            submit();
            return true;
        }
    }
    return QWidget::eventFilter(watched, event);
}

QString LimitsEditor::currentTag() const
{
    const TagRow* row = m_model->rowAt(m_view->currentIndex().row());
    return row ? row->tag : QString();
}

bool LimitsEditor::submit()
{
    const QString tag = m_tag->text();
    int limit = 0;
    const QString error = TagLimits::validateLimit(tag, m_limit->text(), &limit);
    if (!error.isEmpty()) {
        showError(error);
        return false;
    }
    if (!m_context->limits().setLimit(tag, limit)) {
        showError(tr("The limit of tag \"%1\" could not be set.").arg(tag));
        return false;
    }
    showInfo(m_context->database().isOpen()
                 ? tr("Limit of tag \"%1\" set to %2 (stored; other processes pick it up "
                      "within a second).")
                       .arg(tag)
                       .arg(limit)
                 : tr("Limit of tag \"%1\" set to %2 for this process (no database: it is "
                      "not stored).")
                       .arg(tag)
                       .arg(limit));
    return true;
}

bool LimitsEditor::removeCurrent()
{
    const QString tag = currentTag();
    if (tag.isEmpty() || !m_context->limits().removeLimit(tag))
        return false;
    showInfo(tr("Limit of tag \"%1\" deleted; its waiting task runs go ahead.").arg(tag));
    return true;
}

void LimitsEditor::showError(const QString& text)
{
    m_message->setText(QStringLiteral("<b style=\"color:%1\">%2</b>")
                           .arg(stateColor(StateType::Failed).name(), text.toHtmlEscaped()));
    m_message->setToolTip(text);
    m_message->show();
}

void LimitsEditor::showInfo(const QString& text)
{
    m_message->setText(text.toHtmlEscaped());
    m_message->setToolTip(text);
    m_message->show();
}

} // namespace flowdeck
