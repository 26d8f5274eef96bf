// The mock cluster behind `cdn broker`.
