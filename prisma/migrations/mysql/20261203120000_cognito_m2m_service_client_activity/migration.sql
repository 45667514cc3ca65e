-- CreateTable
CREATE TABLE `cognito_m2m_service_client_activity` (
    `client_id` VARCHAR(191) NOT NULL,
    `first_seen_at` DATETIME(3) NOT NULL,
    `last_seen_at` DATETIME(3) NOT NULL,

    INDEX `cognito_m2m_service_client_activity_last_seen_at_idx`(`last_seen_at`),
    PRIMARY KEY (`client_id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
