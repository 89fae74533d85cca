-- Every word of a person's folded names (family and given parts), for name search: a
-- search first narrows to the people with a word starting with its first word (a range
-- [sqlite] -- scan of this key), then the exact match on the names runs on those few.
-- [postgres] -- scan of this key), then the exact match on the names runs on those few. Byte order
-- [postgres] -- ("C"), so that a prefix is a range whatever the database's collation.
CREATE TABLE person_name_words (
-- [sqlite]     word TEXT NOT NULL,
-- [postgres]     word TEXT COLLATE "C" NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (word, user_id)
);
