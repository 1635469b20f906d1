-- Conversations with the assistant: questions and answers over a fixed set of repositories.
--
-- An exchange is a user message (the question) and one or more assistant messages answering it
-- (`parent_id`): regenerating an answer adds a sibling and keeps the old one. An answer being written
-- is `streaming`; its text is checkpointed while it streams (so a reader sees how far it got) and it
-- ends `complete`, `interrupted` (the client left or cancelled, the text is what was written) or
-- `failed` (with the error). A `streaming` answer whose `updated_at` stopped moving belongs to a
-- server that died, and is marked `interrupted` by the next one that looks.

CREATE TABLE conversations (
    id         uuid PRIMARY KEY,
    title      text,
    status     text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- Listing, newest first (created_at never changes, so pages are stable).
CREATE INDEX conversations_newest_first ON conversations (created_at DESC, id DESC);

-- The repositories a conversation answers from, in the order they were given.
CREATE TABLE conversation_repositories (
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    repository_id   uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    position        integer NOT NULL CHECK (position >= 0),
    PRIMARY KEY (conversation_id, repository_id)
);
CREATE INDEX conversation_repositories_by_repository ON conversation_repositories (repository_id);

CREATE TABLE messages (
    id                uuid PRIMARY KEY,
    -- Order within the conversation (created_at ties inside one transaction).
    seq               bigint GENERATED ALWAYS AS IDENTITY,
    conversation_id   uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    -- For an answer: the question it answers, in the same conversation (the composite key below).
    parent_id         uuid,
    role              text NOT NULL CHECK (role IN ('user', 'assistant')),
    content           text NOT NULL DEFAULT '',
    -- Verified citations of an answer, in order of first use.
    citations         jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(citations) = 'array'),
    mode              text CHECK (mode IN ('agent', 'retrieval', 'extractive')),
    model             text,
    prompt_tokens     integer NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    completion_tokens integer NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
    -- The whole answer's time, once it ended.
    latency_ms        double precision CHECK (latency_ms >= 0),
    confidence        real CHECK (confidence >= 0 AND confidence <= 1),
    status            text NOT NULL CHECK (status IN ('complete', 'interrupted', 'failed', 'streaming')),
    error             text,
    -- The rest of a finished answer's document (limits hit, fallback, rejected citations, what was
    -- searched, timings).
    details           jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(details) = 'object'),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, conversation_id),
    FOREIGN KEY (parent_id, conversation_id) REFERENCES messages (id, conversation_id) ON DELETE CASCADE,
    -- Questions have no parent and are whole; answers always answer a question.
    CHECK ((role = 'user') = (parent_id IS NULL)),
    CHECK (role = 'assistant' OR status = 'complete'),
    CHECK (status <> 'failed' OR error IS NOT NULL)
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, seq);
CREATE INDEX messages_by_parent ON messages (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX messages_streaming ON messages (updated_at) WHERE status = 'streaming';
