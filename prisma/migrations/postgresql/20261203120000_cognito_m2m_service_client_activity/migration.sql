-- CreateTable
CREATE TABLE "cognito_m2m_service_client_activity" (
    "client_id" TEXT NOT NULL,
    "first_seen_at" TIMESTAMP(3) NOT NULL,
    "last_seen_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "cognito_m2m_service_client_activity_pkey" PRIMARY KEY ("client_id")
);

-- CreateIndex
CREATE INDEX "cognito_m2m_service_client_activity_last_seen_at_idx" ON "cognito_m2m_service_client_activity"("last_seen_at");
