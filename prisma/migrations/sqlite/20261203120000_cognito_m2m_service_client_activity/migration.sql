-- CreateTable
CREATE TABLE "cognito_m2m_service_client_activity" (
    "client_id" TEXT NOT NULL PRIMARY KEY,
    "first_seen_at" DATETIME NOT NULL,
    "last_seen_at" DATETIME NOT NULL
);

-- CreateIndex
CREATE INDEX "cognito_m2m_service_client_activity_last_seen_at_idx" ON "cognito_m2m_service_client_activity"("last_seen_at");
