-- What a repository says about itself, per file (so an incremental run replaces exactly the rows of
-- the files that changed): README summaries, license texts, package manifests and their
-- dependencies, project files (CI, containers, charts, entry points) and Kubernetes objects.

CREATE TABLE readmes (
    file_id       bigint PRIMARY KEY REFERENCES files (id) ON DELETE CASCADE,
    repository_id uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    title         text,
    summary       text,
    sections      jsonb NOT NULL DEFAULT '[]'::jsonb
);

CREATE TABLE licenses (
    file_id       bigint PRIMARY KEY REFERENCES files (id) ON DELETE CASCADE,
    repository_id uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    spdx_id       text NOT NULL,
    confidence    real NOT NULL
);

CREATE TABLE manifests (
    file_id           bigint PRIMARY KEY REFERENCES files (id) ON DELETE CASCADE,
    repository_id     uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    ecosystem         text NOT NULL,
    name              text,
    version           text,
    description       text,
    homepage          text,
    repository_url    text,
    license           text,
    entry_points      jsonb NOT NULL DEFAULT '[]'::jsonb,
    workspace_members jsonb NOT NULL DEFAULT '[]'::jsonb,
    error             text
);
CREATE INDEX manifests_by_repository ON manifests (repository_id);

-- Dependencies belong to the manifest file that declares them.
ALTER TABLE dependencies ADD COLUMN file_id bigint REFERENCES files (id) ON DELETE CASCADE;
CREATE INDEX dependencies_by_file ON dependencies (file_id);

CREATE TABLE project_files (
    file_id       bigint PRIMARY KEY REFERENCES files (id) ON DELETE CASCADE,
    repository_id uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    kind          text NOT NULL,
    detail        jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX project_files_by_repository ON project_files (repository_id, kind);

CREATE TABLE kubernetes_objects (
    id            bigserial PRIMARY KEY,
    file_id       bigint NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    repository_id uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    api_version   text NOT NULL,
    kind          text NOT NULL,
    name          text
);
CREATE INDEX kubernetes_objects_by_repository ON kubernetes_objects (repository_id, kind);
